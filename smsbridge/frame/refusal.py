"""Why the app's page refuses a change, in the visitor's language.

The page is Russian unless Bitrix24's language is English, so a refusal is a key and its values,
worded when shown; `str()` of it is the English sentence, for logs and tests. Our own rules'
reasons (a phone's, a text's) come in both languages (`Said`); what others wrote (SMS.ru's own
reason) is quoted as it came.
"""

from __future__ import annotations

from typing import Self

from smsbridge.rules.said import Said

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "key_characters": "this is not an SMS.ru key (api_id): it has unexpected characters",
        "key_refused": "SMS.ru does not accept this key: {reason}",
        "key_unreachable": "SMS.ru cannot be reached now; the key was not changed",
        "no_key": "no SMS.ru key is set for this portal; save the key first",
        "sender_unreachable": "SMS.ru cannot be reached now; the sender was not changed",
        "sender_unknown": "{sender!r} is not a sender name this SMS.ru account has approved",
        "test_mode": "test mode must be one of: {modes}",
        "range": "{field} must be a whole number from {low} to {high}",
        "consent": "marketing consent must be 'required' or 'off'",
        "phone": "{phone!r} is not a phone number: {reason}",
        "text": "this text cannot be sent: {reason}",
        "csv_empty": "no phone number found in the CSV",
        "action": "unknown action {action!r}",
        "marketing_pace": "marketing pace",
        "transactional_ttl": "transactional ttl",
        "duplicate_window": "duplicate window",
    },
    "ru": {
        "key_characters": "это не ключ SMS.ru (api_id): в нём недопустимые символы",
        "key_refused": "SMS.ru не принимает этот ключ: {reason}",
        "key_unreachable": "SMS.ru сейчас недоступен; ключ не изменён",
        "no_key": "у портала не задан ключ SMS.ru; сначала сохраните ключ",
        "sender_unreachable": "SMS.ru сейчас недоступен; имя отправителя не изменено",
        "sender_unknown": "«{sender}» — не одобренное в этом аккаунте SMS.ru имя отправителя",
        "test_mode": "тестовый режим — одно из: {modes}",
        "range": "{field}: целое число от {low} до {high}",
        "consent": "согласие на рекламу: «required» или «off»",
        "phone": "«{phone}» — не номер телефона: {reason}",
        "text": "этот текст нельзя отправить: {reason}",
        "csv_empty": "в CSV не найдено ни одного номера",
        "action": "неизвестное действие «{action}»",
        "marketing_pace": "темп рекламной рассылки",
        "transactional_ttl": "срок жизни сервисных SMS (ttl)",
        "duplicate_window": "окно защиты от повторов",
    },
}
FIELDS = ("marketing_pace", "transactional_ttl", "duplicate_window")  # worded where named


class Refusal(ValueError):
    """One or more reasons (a key of `WORDS` and its values each); the page words them."""

    def __init__(self, key: str, **values: object) -> None:
        self.reasons: tuple[tuple[str, dict[str, object]], ...] = ((key, values),)
        super().__init__(self.words("en"))

    @classmethod
    def of(cls, refusals: list[Refusal]) -> Self:
        """Several refusals as one, each reason in turn."""
        joined = cls.__new__(cls)
        joined.reasons = tuple(r for refusal in refusals for r in refusal.reasons)
        ValueError.__init__(joined, joined.words("en"))
        return joined

    def words(self, lang: str) -> str:
        lang = lang if lang in WORDS else "ru"
        words = WORDS[lang]
        return "; ".join(
            words[key].format(**_worded(values, words, lang)) for key, values in self.reasons
        )


def _worded(values: dict[str, object], words: dict[str, str], lang: str) -> dict[str, object]:
    return {k: _word(k, v, words, lang) for k, v in values.items()}


def _word(name: str, value: object, words: dict[str, str], lang: str) -> object:
    if isinstance(value, Said):
        return value.in_language(lang)
    if name == "field" and value in FIELDS:
        return words[str(value)]
    return value
