from datetime import UTC, datetime, timedelta

from smsbridge.status.schedule import LIFETIME, next_poll_at

SENT = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_backs_off_from_30_seconds_to_a_cap() -> None:
    delays = [next_poll_at(SENT, polls, SENT) - SENT for polls in range(8)]  # type: ignore[operator]
    assert delays == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=8),
        timedelta(minutes=16),
        timedelta(minutes=30),
        timedelta(minutes=30),
    ]


def test_stops_after_the_lifetime() -> None:
    assert next_poll_at(SENT, 10, SENT + LIFETIME - timedelta(minutes=31)) is not None
    assert next_poll_at(SENT, 10, SENT + LIFETIME - timedelta(minutes=29)) is None


def test_a_message_polled_for_days_is_polled_every_30_minutes() -> None:
    # ~150 polls fit in the lifetime; 30 s · 2**42 used to overflow timedelta and fail the run.
    for polls in (41, 42, 150):
        assert next_poll_at(SENT, polls, SENT + timedelta(hours=1)) == SENT + timedelta(
            hours=1, minutes=30
        )
