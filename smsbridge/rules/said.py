"""A reason our own rules give, in both of the product's languages.

English goes to logs, the command line and CSV files; the app's page inside Bitrix24 is Russian
unless the portal's language is English, so a rule's reason must not reach it in English only.
"""

from __future__ import annotations

from dataclasses import dataclass

# Bitrix24's languages whose readers read Russian; any other portal is written to in English.
RUSSIAN_READING = frozenset({"ru", "ua", "kz", "by"})


@dataclass(frozen=True, slots=True)
class Said:
    en: str
    ru: str

    def __str__(self) -> str:
        return self.en

    def in_language(self, lang: str) -> str:
        """The reason in `lang` ("ru" or "en"); English for any other."""
        return self.ru if lang == "ru" else self.en


def portal_language(language_id: str | None) -> str:
    """What a portal is written to in ("ru" or "en"), from its `LANGUAGE_ID`; Russian when it is
    not known, as for most portals that send through SMS.ru."""
    given = (language_id or "ru").strip().lower()
    return "ru" if given in RUSSIAN_READING else "en"
