"""SMS.ru status and error codes: what each means and what we do about it.

One table for the client, the sender, the emulator and the reports, so that a code is never
interpreted two ways. Source: `shared/reference/smsru-api.md` §2 and §4 (S1, 2024 revision).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What a code tells us to do with the message (or request) it came with."""

    DELIVERED = "delivered"  # final, success
    PENDING = "pending"  # accepted, still on its way
    UNDELIVERED = "undelivered"  # final: the operator could not deliver it
    FAILED = "failed"  # final: refused at send time; resending the same request will not help
    RETRY_LATER = "retry_later"  # SMS.ru says "try again later"; nothing was done
    ACCOUNT_PROBLEM = "account_problem"  # the account (key, balance, sender, limit) needs attention
    NOT_FOUND = "not_found"  # -1: SMS.ru does not know this sms_id


MEANINGS: dict[int, str] = {
    -1: "Сообщение не найдено",
    100: "Запрос выполнен или сообщение находится в нашей очереди",
    101: "Сообщение передается оператору",
    102: "Сообщение отправлено (в пути)",
    103: "Сообщение доставлено",
    104: "Не может быть доставлено: время жизни истекло",
    105: "Не может быть доставлено: удалено оператором",
    106: "Не может быть доставлено: сбой в телефоне",
    107: "Не может быть доставлено: неизвестная причина",
    108: "Не может быть доставлено: отклонено",
    110: "Сообщение прочитано",
    150: "Не может быть доставлено: не найден маршрут на данный номер",
    200: "Неправильный api_id",
    201: "Не хватает средств на лицевом счету",
    202: "Неправильно указан номер телефона получателя, либо на него нет маршрута",
    203: "Нет текста сообщения",
    204: "Вы не подключили данного оператора на данном отправителе",
    205: "Сообщение слишком длинное (превышает 8 СМС)",
    206: "Будет превышен или уже превышен дневной лимит на отправку сообщений",
    207: "На этот номер нет маршрута для доставки сообщений",
    208: "Параметр time указан неправильно",
    209: "Вы добавили этот номер (или один из номеров) в стоп-лист",
    210: "Используется GET, где необходимо использовать POST",
    211: "Метод не найден",
    212: "Текст сообщения необходимо передать в кодировке UTF-8",
    213: "Указано слишком много номеров в списке получателей",
    214: "Номер находится зарубежом (включена настройка «Отправлять только на номера РФ»)",
    215: "Этот номер находится в стоп-листе SMS.RU (от получателя поступала жалоба на спам)",
    216: "В тексте сообщения содержится запрещенное слово",
    217: "Реклама кредита без обязательной фразы о рисках",
    220: "Сервис временно недоступен, попробуйте чуть позже",
    221: "Необходимо создать буквенного отправителя",
    230: "Превышен общий лимит количества сообщений на этот номер в день",
    231: "Превышен лимит одинаковых сообщений на этот номер в минуту",
    232: "Превышен лимит одинаковых сообщений на этот номер в день",
    233: "Превышен лимит отправки повторных сообщений с кодом на этот номер",
    300: "Неправильный token (возможно истек срок действия, либо ваш IP изменился)",
    301: "Неправильный api_id, либо логин/пароль",
    302: "Пользователь авторизован, но аккаунт не подтвержден",
    303: "Код подтверждения неверен",
    304: "Отправлено слишком много кодов подтверждения",
    305: "Слишком много неверных вводов кода",
    500: "Ошибка на сервере. Повторите запрос.",
    501: "Лимит: IP из сети TOR",
    502: "Лимит: IP не совпадает со страной",
    503: "Лимит: слишком много сообщений в страну",
    504: "Лимит: слишком много кодов авторизации за рубеж",
    505: "Лимит: слишком много сообщений на один IP",
    506: "Слишком много сообщений, где IP конечного пользователя принадлежит хостингу",
    507: "IP пользователя указан неверно, либо из частной подсети",
    508: "Превышено количество допустимых звонков за 5 минут",
    550: "Страна заблокирована в целях безопасности",
    901: "Callback: URL неверный (не начинается на http://)",
    902: "Callback: Обработчик не найден",
}

_OUTCOMES: dict[int, Outcome] = {
    -1: Outcome.NOT_FOUND,
    100: Outcome.PENDING,
    101: Outcome.PENDING,
    102: Outcome.PENDING,
    103: Outcome.DELIVERED,
    110: Outcome.DELIVERED,  # "read" implies delivered
    **dict.fromkeys((104, 105, 106, 107, 108, 150), Outcome.UNDELIVERED),
    **dict.fromkeys((220, 500), Outcome.RETRY_LATER),
    # The whole account is unusable until someone acts (or, for 206, until tomorrow): sending the
    # rest of the queue would only turn every message into the same failure.
    **dict.fromkeys((200, 201, 206, 221, 300, 301, 302), Outcome.ACCOUNT_PROBLEM),
}


def classify(code: int) -> Outcome:
    """The outcome of an SMS.ru code; an unknown code is a permanent failure of that message."""
    return _OUTCOMES.get(code, Outcome.FAILED)


def is_known(code: int) -> bool:
    return code in MEANINGS


def meaning(code: int) -> str:
    return MEANINGS.get(code, f"Неизвестный код {code}")
