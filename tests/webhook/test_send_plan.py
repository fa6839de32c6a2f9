from datetime import UTC, datetime

from webhook.outbox import Claimed
from webhook.send_plan import plan_calls


def message(pk: int, number: str) -> Claimed:
    return Claimed(pk, 1, f"m{pk}", number, "text", "marketing", 1, datetime.now(UTC))


def test_at_most_100_numbers_per_call() -> None:
    calls = plan_calls([message(n, f"7900000{n:04d}") for n in range(250)])
    assert [len(call) for call in calls] == [100, 100, 50]


def test_a_number_appears_once_per_call() -> None:
    messages = [message(1, "79000000001"), message(2, "79000000001"), message(3, "79000000002")]
    calls = plan_calls(messages)
    assert [[m.pk for m in call] for call in calls] == [[1, 3], [2]]
    for call in calls:
        assert len({m.number for m in call}) == len(call)
