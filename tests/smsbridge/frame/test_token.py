"""The page's signed token: who it vouches for, and what makes it worthless."""

from __future__ import annotations

import pytest

from smsbridge.frame.token import LIFETIME, TokenRefused, check, issue

MASTER = "master-secret-0123456789abcdef"


def test_a_token_names_its_user_until_it_expires() -> None:
    token = issue(MASTER, "a.b" * 5, 7, True, now=1000)
    user = check(MASTER, token, now=1000 + LIFETIME - 1)
    assert (user.member_id, user.user_id, user.admin, user.expires) == (
        "a.b" * 5,
        7,
        True,
        1000 + LIFETIME,
    )
    assert MASTER not in token
    with pytest.raises(TokenRefused, match="expired"):
        check(MASTER, token, now=1000 + LIFETIME)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace(".u.", ".a."),  # promoted to admin
        lambda t: t.replace(".7.", ".1."),  # another user
        lambda t: t.replace("m" * 32, "n" * 32),  # another portal
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature
        lambda t: "",
        lambda t: "x" * 500,
    ],
)
def test_an_altered_token_is_refused(change: object) -> None:
    token = issue(MASTER, "m" * 32, 7, False)
    with pytest.raises(TokenRefused):
        check(MASTER, change(token))  # type: ignore[operator]


def test_another_master_secret_refuses_it() -> None:
    with pytest.raises(TokenRefused, match="not valid"):
        check("another-master-secret-000000", issue(MASTER, "m" * 32, 7, True))
