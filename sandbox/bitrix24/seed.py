"""A CRM worth looking at for the sandbox `make run` starts: contacts, leads and deals as people
type them.

Phones in the spellings a real CRM collects (8 instead of +7, brackets, dashes, spaces, a
landline, an extension, a foreign number, a typo), so that `smsbridge normalize` and
`validate-broadcast --crm` have something to show. Deals have titles of every length, amounts as
Bitrix24 gives them ("12490.00"), a payment link in the user field `UF_CRM_PAYMENT_LINK` (empty
where no invoice was issued) and a contact (but a few), for `smsbridge template check`.
Deterministic: the same CRM every start.
"""

from __future__ import annotations

from sandbox.bitrix24.crm import Phone
from sandbox.bitrix24.portal import PortalEmulator

FIRST_NAMES = ("Анна", "Борис", "Вера", "Глеб", "Дарья", "Егор", "Жанна", "Илья", "Ксения", "Лев")
LAST_NAMES = ("Иванова", "Петров", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева")
COMPANIES = ("ООО «Ромашка»", "ИП Волков", "АО «Север»", "Кафе «Уют»", "Студия «Линия»")

# Each spelling of a mobile number, as found in CRMs; index i picks one for record i.
SPELLINGS = (
    lambda n: f"+7{n}",
    lambda n: f"8{n}",
    lambda n: f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
    lambda n: f"+7 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}",
    lambda n: f"7{n}",
    lambda n: f"{n}",
    lambda n: f"+7({n[:3]}){n[3:]}",
    lambda n: f"8-{n[:3]}-{n[3:6]}-{n[6:]}",
)
CONTACTS = 40
LEADS = 20
DEALS = 30
PAYMENT_LINK = "PAYMENT_LINK"  # crm.deal.userfield.add prefixes it: UF_CRM_PAYMENT_LINK
GOODS = (
    "Диван «Лофт»",
    "Кухонный гарнитур «Прованс» 2,4 м с фасадами из массива и мойкой",
    "Стол обеденный",
    "Шкаф-купе 3-дверный, зеркало, 240×60 см",
    "Кресло",
    "Матрас ортопедический 160×200",
)


def mobile(i: int) -> str:
    """The i-th seeded mobile, ten digits after +7."""
    return f"9{(16_000_000 + i * 7_919_113) % 1_000_000_000:09d}"


def phones_of(i: int) -> list[Phone]:
    """Record i's phones: a mobile in one of the spellings, and now and then something messier."""
    phones: list[Phone] = [SPELLINGS[i % len(SPELLINGS)](mobile(i))]
    if i % 5 == 1:
        phones.append((f"+7 (495) {100 + i:03d}-{i % 100:02d}-{(i * 7) % 100:02d}", "WORK"))
    if i % 9 == 4:
        phones.append((f"8 {mobile(i + 500)[:3]} {mobile(i + 500)[3:]} доб. 12", "MOBILE"))
    if i % 13 == 6:
        phones.append(("+375 29 123-45-67", "MOBILE"))  # Belarus
    if i % 11 == 3:
        phones.append(("8 916 12", "OTHER"))  # typed and never finished
    return phones


def payment_link(i: int) -> str:
    return f"https://pay.sandbox-shop.ru/i/{(i * 7_919_113) % 16**8:08X}"


def seed_crm(portal: PortalEmulator) -> None:
    contacts = [
        portal.add_contact(
            FIRST_NAMES[i % len(FIRST_NAMES)],
            phones_of(i),
            LAST_NAME=LAST_NAMES[i % len(LAST_NAMES)],
        )
        for i in range(CONTACTS)
    ]
    for i in range(LEADS):
        portal.add_lead(
            f"Заявка: {COMPANIES[i % len(COMPANIES)]}",
            phones_of(CONTACTS + i),
            NAME=FIRST_NAMES[(i + 3) % len(FIRST_NAMES)],
        )
    field = {"FIELD_NAME": PAYMENT_LINK, "USER_TYPE_ID": "string", "LABEL": "Ссылка на оплату"}
    portal.execute("crm.deal.userfield.add", {"fields": field}, user_id=1)
    for i in range(DEALS):
        amount = 4_990 + (i * 7_919) % 150_000 // 10 * 10
        portal.add_deal(
            f"{GOODS[i % len(GOODS)]}, заказ {1040 + i}",
            contacts[i % CONTACTS] if i % 10 != 9 else None,  # a deal now and then without one
            OPPORTUNITY=f"{amount}.00",
            STAGE_ID=("NEW", "PREPAYMENT_INVOICE", "WON")[i % 3],
            UF_CRM_PAYMENT_LINK=payment_link(i) if i % 3 else None,  # no invoice for new deals
        )
