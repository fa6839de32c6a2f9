import pytest

from smsbridge.status.states import (
    BITRIX24_STATUS,
    FINAL,
    State,
    moves_forward,
    state_for_status_code,
)


def test_statuses_only_move_forward() -> None:
    assert moves_forward(State.SENT, State.IN_TRANSIT)
    assert moves_forward(State.IN_TRANSIT, State.DELIVERED)
    assert not moves_forward(State.DELIVERED, State.IN_TRANSIT)  # a late 102 after 103
    assert not moves_forward(State.DELIVERED, State.SENT)
    assert not moves_forward(State.SENT, State.SENT)


@pytest.mark.parametrize("final", sorted(FINAL))
def test_a_final_state_never_changes(final: State) -> None:
    assert not any(moves_forward(final, other) for other in State)


@pytest.mark.parametrize(
    ("code", "state"),
    [
        (100, State.SENT),
        (101, State.SENT),
        (102, State.IN_TRANSIT),
        (103, State.DELIVERED),
        (110, State.DELIVERED),
        (104, State.UNDELIVERED),
        (150, State.UNDELIVERED),
        (-1, None),
        (207, None),
    ],
)
def test_status_codes(code: int, state: State | None) -> None:
    assert state_for_status_code(code) == state


def test_every_state_has_a_bitrix24_status() -> None:
    assert set(BITRIX24_STATUS) == set(State)
    assert set(BITRIX24_STATUS.values()) == {"queued", "sent", "delivered", "undelivered", "failed"}
