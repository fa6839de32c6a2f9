"""The portal's people: who a token acts for, and the two methods that say who that is.

`profile` (scope `basic`) answers `ID`, `ADMIN`, `NAME`, `LAST_NAME` of the caller; `user.admin`
(scope `basic`) answers whether the caller can manage the app's settings (reference A2). Admins
are the portal's `admins` set, so a test that demotes a user changes every method at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.bitrix24.rest import Caller, Outcome, Params


@dataclass(frozen=True, slots=True)
class User:
    name: str
    last_name: str


# User 1 installed the app and is the portal's admin; user 2 is an ordinary employee.
DEFAULT_USERS = {1: User("Анна", "Смирнова"), 2: User("Иван", "Петров")}


class Users:
    def __init__(self) -> None:
        self._users = dict(DEFAULT_USERS)

    def add(self, user_id: int, name: str, last_name: str) -> None:
        self._users[user_id] = User(name, last_name)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._users

    def profile(self, caller: Caller, params: Params) -> Outcome:
        user = self._users.get(caller.user_id, User("", ""))
        return Outcome(
            {
                "ID": str(caller.user_id),
                "ADMIN": caller.admin,
                "NAME": user.name,
                "LAST_NAME": user.last_name,
                "PERSONAL_GENDER": "",
                "TIME_ZONE": "",
                "TIME_ZONE_OFFSET": 10800,
            }
        )

    def admin(self, caller: Caller, params: Params) -> Outcome:
        return Outcome(caller.admin)
