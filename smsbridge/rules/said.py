"""A reason our own rules give, in both of the product's languages.

English goes to logs, the command line and CSV files; the app's page inside Bitrix24 is Russian
unless the portal's language is English, so a rule's reason must not reach it in English only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Said:
    en: str
    ru: str

    def __str__(self) -> str:
        return self.en

    def in_language(self, lang: str) -> str:
        """The reason in `lang` ("ru" or "en"); English for any other."""
        return self.ru if lang == "ru" else self.en
