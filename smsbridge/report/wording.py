"""The app's analytics in words, Russian (the default) and English: labels, numbers, failures.

Every word the analytics fragment shows is here, so the two languages stay alike (a test holds
them to the same keys) and a failure or an SMS.ru code reads the same wherever it is shown.
SMS.ru's own Russian text of a code is its Russian wording (`clients.smsru.codes`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from clients.smsru.codes import meaning
from smsbridge.report import text
from smsbridge.report.model import FailureCount
from smsbridge.status.failures import DESCRIPTION, Failure

Lang = Literal["ru", "en"]
NBSP = "\u00a0"

LABELS: dict[Lang, dict[str, str]] = {
    "ru": {
        "title": "Аналитика SMS",
        "period": "{first} — {last}, дни портала по его времени ({zone})",
        "one_day": "{first}, день портала по его времени ({zone})",
        "generated": "Данные на {at} UTC",
        "empty": "За этот период сообщений нет.",
        "messages": "Сообщений",
        "sent": "Отправлено",
        "delivered": "Доставлено",
        "undelivered": "Не доставлено",
        "failed": "Ошибки",
        "pending": "В пути",
        "delivery_rate": "Доставляемость",
        "median_seconds": "Медиана доставки",
        "p90_seconds": "90 % доставлены за",
        "segments": "Сегментов",
        "cost": "Стоимость",
        "without_cost": "Без цены пока",
        "by_day": "По дням",
        "by_kind": "По типу",
        "by_source": "По источнику",
        "delivery_time": "Время доставки",
        "no_delivery": "За этот период ни одно сообщение не доставлено.",
        "failures": "Ошибки и недоставленные",
        "no_failures": "Ни одно сообщение не завершилось ошибкой и не осталось недоставленным.",
        "texts": "Самые дорогие тексты",
        "no_texts": "Отправленных сообщений с текстом нет.",
        "templates": "Стоимость по шаблонам",
        "no_templates": "Сообщений с текстом нет.",
        "template": "Шаблон (изменяемые части скрыты)",
        "day": "День",
        "kind": "Тип",
        "source": "Источник",
        "outcome": "Итог",
        "code": "Код SMS.ru",
        "reason": "Причина",
        "text": "Текст",
        "rate_note": "Доставляемость — доля доставленных среди завершённых (доставлено, "
        "не доставлено, ошибка).",
        "portal": "Портал",
    },
    "en": {
        "title": "SMS analytics",
        "period": "{first} — {last}, the portal's own days ({zone})",
        "one_day": "{first}, the portal's own day ({zone})",
        "generated": "Figures as of {at} UTC",
        "empty": "No messages in this period.",
        "messages": "Messages",
        "sent": "Sent",
        "delivered": "Delivered",
        "undelivered": "Undelivered",
        "failed": "Failed",
        "pending": "Pending",
        "delivery_rate": "Delivery rate",
        "median_seconds": "Median to delivery",
        "p90_seconds": "90 % delivered within",
        "segments": "Segments",
        "cost": "Cost",
        "without_cost": "No price yet",
        "by_day": "By day",
        "by_kind": "By kind",
        "by_source": "By source",
        "delivery_time": "Time to delivery",
        "no_delivery": "No message was delivered in this period.",
        "failures": "Failed and undelivered",
        "no_failures": "No message failed or went undelivered.",
        "texts": "The most expensive texts",
        "no_texts": "No sent message with a text.",
        "templates": "Cost by template",
        "no_templates": "No message with a text.",
        "template": "Template (variable parts masked)",
        "day": "Day",
        "kind": "Kind",
        "source": "Source",
        "outcome": "Outcome",
        "code": "SMS.ru code",
        "reason": "Reason",
        "text": "Text",
        "rate_note": "Delivery rate: delivered among the final outcomes (delivered, "
        "undelivered, failed).",
        "portal": "Portal",
    },
}

NAMES: dict[Lang, dict[str, str]] = {  # kinds, sources and outcomes as stored → words
    "ru": {
        "transactional": "Сервисные",
        "marketing": "Рекламные",
        "card": "Из карточки CRM",
        "robot": "Роботы и бизнес-процессы",
        "campaign": "Рассылки",
        "other": "Другие",
        "test": "Проверочные из приложения",
        "failed": "Ошибка отправки",
        "undelivered": "Не доставлено",
    },
    "en": {
        "transactional": "Transactional",
        "marketing": "Marketing",
        "card": "From a CRM card",
        "robot": "Robots and business processes",
        "campaign": "Campaigns",
        "other": "Other",
        "test": "Test sends from the app",
        "failed": "Not sent",
        "undelivered": "Undelivered",
    },
}

# Failures of ours (no SMS.ru code), by kind; English is the report's own description.
REASONS: dict[Lang, dict[str, str]] = {
    "ru": {
        Failure.INVALID_NUMBER: "неверный номер телефона",
        Failure.EMPTY_TEXT: "пустой текст",
        Failure.TOO_LONG: "текст длиннее 8 SMS",
        Failure.INTERRUPTED: "отправка прервана, результат неизвестен",
        Failure.GAVE_UP: "SMS.ru слишком долго недоступен",
        Failure.NO_RESULT: "в ответе SMS.ru нет результата",
        Failure.REFUSED: "SMS.ru отказал",
        Failure.STOP_LISTED: "номер в стоп-листе",
        Failure.NO_CONSENT: "нет согласия на рекламу",
        Failure.DUPLICATE: "повтор недавнего сообщения",
        Failure.TOO_FREQUENT: "слишком много сообщений на номер",
    },
    "en": {str(kind): words for kind, words in DESCRIPTION.items()},
}
OTHER_REASON: dict[Lang, str] = {
    "ru": "другая ошибка с нашей стороны",
    "en": "other failure of ours",
}

# SMS.ru's codes in plain English (its own texts, in Russian, are `clients.smsru.codes.MEANINGS`).
CODES_EN: dict[int, str] = {
    -1: "message not found",
    100: "queued at SMS.ru",
    101: "being passed to the operator",
    102: "sent, on its way",
    103: "delivered",
    104: "not delivered: its lifetime expired",
    105: "not delivered: deleted by the operator",
    106: "not delivered: a fault in the phone",
    107: "not delivered: reason unknown",
    108: "not delivered: rejected",
    110: "read",
    150: "not delivered: no route to this number",
    200: "wrong api_id",
    201: "not enough money on the account",
    202: "wrong recipient number, or no route to it",
    203: "no message text",
    204: "this operator is not enabled for this sender name",
    205: "message too long (over 8 SMS)",
    206: "the daily sending limit is (or would be) exceeded",
    207: "no route to deliver messages to this number",
    208: "wrong time parameter",
    209: "the number is on your stop list",
    210: "GET used where POST is required",
    211: "method not found",
    212: "the text must be in UTF-8",
    213: "too many numbers in the recipient list",
    214: "the number is abroad (sending only to Russian numbers is on)",
    215: "the number is on SMS.ru's stop list (the recipient reported spam)",
    216: "the text contains a forbidden word",
    217: "a credit advertisement without the required risk warning",
    220: "service temporarily unavailable, try later",
    221: "a letter sender name must be created first",
    230: "daily limit of messages to this number exceeded",
    231: "limit of identical messages to this number per minute exceeded",
    232: "limit of identical messages to this number per day exceeded",
    233: "limit of repeated code messages to this number exceeded",
    300: "wrong token (expired, or your IP changed)",
    301: "wrong api_id, or login and password",
    302: "signed in, but the account is not confirmed",
    303: "wrong confirmation code",
    304: "too many confirmation codes sent",
    305: "too many wrong code entries",
    500: "server error, repeat the request",
    501: "limit: IP in the TOR network",
    502: "limit: IP does not match the country",
    503: "limit: too many messages to the country",
    504: "limit: too many authorisation codes abroad",
    505: "limit: too many messages from one IP",
    506: "too many messages where the end user's IP belongs to a hosting",
    507: "the user's IP is wrong or from a private network",
    508: "too many calls within 5 minutes",
    550: "country blocked for security",
    901: "callback: wrong URL (does not start with http://)",
    902: "callback: handler not found",
}

_UNITS = {"ru": {"s": "с", "min": "мин", "h": "ч"}, "en": {"s": "s", "min": "min", "h": "h"}}
_UNIT = re.compile(r"(?<=[0-9] )(s|min|h)\b")
_MONTHS_RU = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


def language(lang: str | None) -> Lang:
    """English when asked (`en`, `en-US`…), else Russian: the app's audience."""
    return "en" if (lang or "").strip().lower().startswith("en") else "ru"


def label(key: str, lang: Lang) -> str:
    return LABELS[lang][key]


def name(value: str | None, lang: Lang) -> str:
    """A kind, source or outcome as stored, in words (an unknown one as it is)."""
    return NAMES[lang].get(value or "", value or "—")


def failure_words(failure: FailureCount, lang: Lang) -> str:
    """Why messages failed, in plain words: SMS.ru's code's meaning, or the kind of ours."""
    if failure.code is not None:
        if lang == "ru":
            return meaning(failure.code)
        return CODES_EN.get(failure.code, f"unknown SMS.ru code {failure.code}")
    if failure.reason is None:
        return OTHER_REASON[lang]
    return REASONS[lang].get(failure.reason, failure.reason)


def _localised(figure: str, lang: Lang) -> str:
    """An English-formatted figure (1,234.5) the Russian way (1 234,5)."""
    if lang == "en":
        return figure
    return figure.replace(",", NBSP).replace(".", ",")


def number(value: int, lang: Lang) -> str:
    return _localised(text.number(value), lang)


def money(amount: Decimal | None, lang: Lang) -> str:
    return _localised(text.money(amount), lang)


def percent(rate: float | None, lang: Lang) -> str:
    return _localised(text.percent(rate), lang)


def seconds(value: float | None, lang: Lang) -> str:
    return duration(text.seconds(value), lang)


def duration(words: str, lang: Lang) -> str:
    """A duration or a histogram bin as `figures` words it (5–10 s, 30 s–1 min, ≥ 6 h)."""
    return _UNIT.sub(lambda m: _UNITS[lang][m.group(1)], _localised(words, lang))


def day(value: date, lang: Lang) -> str:
    """A date as people write it: 10 марта 2026, 10 March 2026."""
    if lang == "ru":
        return f"{value.day} {_MONTHS_RU[value.month - 1]} {value.year}"
    return f"{value.day} {value.strftime('%B')} {value.year}"


def moment(value: datetime, lang: Lang, zone: str) -> str:
    """A moment in the portal's time zone as people write it: 29 ноября 2026, 12:12 (МСК is
    named by its zone: Europe/Moscow)."""
    local = value.astimezone(ZoneInfo(zone))
    return f"{day(local.date(), lang)}, {local:%H:%M} ({zone})"


def short_day(value: date, lang: Lang) -> str:
    """A chart's day label: 10.03 or 10 Mar."""
    return f"{value.day:02d}.{value.month:02d}" if lang == "ru" else value.strftime("%-d %b")
