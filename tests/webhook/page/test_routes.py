"""The app's page over real HTTP: the emulated portal opens it in its frame as Bitrix24 does."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

import httpx
import pytest
from sqlmodel import Session, select
from support import MEMBER_ID, SECRET, SMSRU_KEY, Webhook, wait_for

from models import Message, Portal, StopListEntry
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator
from smsbridge.frame import token as frame_token

APP = "/bitrix24/app"


def open_app(
    webhook: Webhook, portal: PortalEmulator, user_id: int = 1, **changes: str
) -> httpx.Response:
    query, form = portal.frame_fields(user_id)
    query["LANG"] = changes.pop("LANG", query["LANG"])
    return webhook.http.post(f"{APP}?{urlencode(query)}", data=form | changes)


def token_of(page: httpx.Response) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def stored(webhook: Webhook) -> Portal:
    with Session(webhook.engine) as session:
        return session.exec(select(Portal).where(Portal.member_id == MEMBER_ID)).one()


def post(webhook: Webhook, path: str, token: str, **form: str) -> httpx.Response:
    return webhook.http.post(f"{APP}{path}", data={"token": token, "lang": "en"} | form)


def test_admin_page_is_framed_by_its_portal_only(
    installed: Webhook, bitrix24: PortalEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    query, form = bitrix24.frame_fields(1)
    page = installed.http.post(f"{APP}?{urlencode(query)}", data=form)
    wait_for(lambda: "POST /bitrix24/app 200" in caplog.text)  # logged once the answer is sent
    assert form["AUTH_ID"] not in caplog.text and form["REFRESH_ID"] not in caplog.text
    assert page.status_code == 200, page.text
    assert page.headers["content-security-policy"] == f"frame-ancestors {bitrix24.base_url}"
    assert 'data-admin="yes"' in page.text and 'data-test="read-only"' not in page.text
    assert "SMS.ru для Битрикс24" in page.text  # Russian by default
    assert '<dd data-test="balance">100\u00a0000,00 ₽</dd>' in page.text  # as the analytics write
    assert '<dd data-test="limit">без лимита, отправлено 0</dd>' in page.text
    assert "SMSBRIDGE" in page.text  # the account's approved sender, offered in the list
    assert SMSRU_KEY not in page.text and SMSRU_KEY[-4:] in page.text  # masked
    assert bitrix24.frame_fields(1)[1]["AUTH_ID"] not in page.text
    english = open_app(installed, bitrix24, LANG="en")
    assert "SMS.ru for Bitrix24" in english.text


def test_an_employee_sees_settings_read_only_and_cannot_change_them(
    installed: Webhook, bitrix24: PortalEmulator
) -> None:
    page = open_app(installed, bitrix24, user_id=2)
    assert page.status_code == 200, page.text
    assert 'data-admin="no"' in page.text and 'data-test="read-only"' in page.text
    token = token_of(page)
    before = stored(installed)
    for action, fields in {
        "policy": {"marketing_consent": "required", "marketing_pace": "5", "duplicate_window": "0"},
        "test_mode": {"test_mode": "on"},
        "stop_add": {"phone": "+79991112233"},
        "key": {"smsru_api_id": "something"},
    }.items():
        refused = post(installed, "/settings", token, action=action, **fields)
        assert refused.status_code == 403, refused.text
        assert "administrator" in refused.text
    assert post(installed, "/probe", token, phone="+79991112233", text="x").status_code == 403
    after = stored(installed)
    assert (after.marketing_consent, after.marketing_pace, after.smsru_test) == (
        before.marketing_consent,
        before.marketing_pace,
        before.smsru_test,
    )
    with Session(installed.engine) as session:
        assert session.exec(select(StopListEntry)).all() == []
        assert session.exec(select(Message)).all() == []


@pytest.mark.parametrize("case", ["forged", "other portal", "unknown member", "uninstalled"])
def test_untrusted_frames_are_refused_with_nothing_of_the_portal(
    installed: Webhook, bitrix24: PortalEmulator, serve_portal: object, case: str
) -> None:
    query, form = bitrix24.frame_fields(1)
    if case == "forged":
        form["AUTH_ID"] = "f" * 70
    elif case == "other portal":
        other = serve_portal(member_id="b" * 32, domain="other.bitrix24.ru")  # type: ignore[operator]
        form["AUTH_ID"] = other.frame_fields(1)[1]["AUTH_ID"]
    elif case == "unknown member":
        form["member_id"] = "c" * 32
    else:
        assert bitrix24.uninstall().status_code == 200  # ONAPPUNINSTALL, bound at install
    refused = installed.http.post(f"{APP}?{urlencode(query)}", data=form)
    assert refused.status_code in (401, 403), refused.text
    assert refused.headers["content-security-policy"] == "frame-ancestors *"  # shown in words
    for secret in (bitrix24.domain, bitrix24.base_url, "SMSBRIDGE", SMSRU_KEY[-4:], 'name="token"'):
        assert secret not in refused.text


def test_tokens_expire_and_cannot_be_altered(installed: Webhook, bitrix24: PortalEmulator) -> None:
    token = token_of(open_app(installed, bitrix24))
    assert post(installed, "/view", token).status_code == 200
    employee = frame_token.issue(SECRET, MEMBER_ID, 2, False)
    promoted = employee.replace(".u.", ".a.")
    expired = frame_token.issue(SECRET, MEMBER_ID, 1, True, now=0)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (promoted, expired, tampered, "", "v1.nonsense"):
        refused = post(installed, "/settings", bad, action="test_mode", test_mode="on")
        assert refused.status_code == 401, (bad, refused.text)
        assert bitrix24.domain not in refused.text
    assert stored(installed).smsru_test is None


def test_admin_settings_are_checked_and_stored(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    token = token_of(open_app(installed, bitrix24))
    own = "own-smsru-key-BBBB-2222"
    if not smsru.knows(own):  # the emulator lives for the session
        smsru.add_account(own, senders=("SHOP", "SMSBRIDGE"))
    good = post(installed, "/settings", token, action="key", smsru_api_id=own)
    assert good.status_code == 200 and 'data-test="notice"' in good.text, good.text
    assert stored(installed).smsru_api_id == own and own not in good.text and "…2222" in good.text
    assert any(url.startswith(installed.server.url) for url in smsru.callbacks(own))
    bad_key = post(installed, "/settings", token, action="key", smsru_api_id="wrong-key-000000")
    assert bad_key.status_code == 400 and "SMS.ru does not accept this key" in bad_key.text
    assert stored(installed).smsru_api_id == own  # the old one is kept
    unknown = post(installed, "/settings", token, action="sender", sender="NOPE")
    assert unknown.status_code == 400 and "not a sender name" in unknown.text
    assert post(installed, "/settings", token, action="sender", sender="SHOP").status_code == 200
    assert (
        post(installed, "/settings", token, action="test_mode", test_mode="on").status_code == 200
    )
    policy = {
        "marketing_consent": "required",
        "marketing_pace": "30",
        "transactional_ttl": "60",
        "duplicate_window": "0",
        "transactional_stop_list": "on",
    }
    assert post(installed, "/settings", token, action="policy", **policy).status_code == 200
    wrong = post(
        installed, "/settings", token, action="policy", **(policy | {"marketing_pace": "0"})
    )
    assert wrong.status_code == 400 and "marketing pace must be a whole number" in wrong.text
    portal = stored(installed)
    assert (portal.smsru_sender, portal.smsru_test, portal.marketing_consent) == (
        "SHOP",
        True,
        "required",
    )
    assert (portal.marketing_pace, portal.transactional_ttl, portal.duplicate_window) == (30, 60, 0)
    assert portal.marketing_daytime is False and portal.transactional_stop_list is True
    fields = httpx.post(
        f"{bitrix24.base_url}/rest/crm.contact.userfield.list",
        data={"auth": bitrix24.issue_access_token(1)["access_token"]},
    ).json()["result"]
    assert "UF_CRM_SMS_CONSENT" in [field["FIELD_NAME"] for field in fields]  # consent's source
    added = post(
        installed, "/settings", token, action="stop_add", phone="8 999 111-22-33", reason="asked"
    )
    assert added.status_code == 200 and 'data-phone="+79991112233"' in added.text
    imported = post(
        installed,
        "/settings",
        token,
        action="stop_import",
        csv="phone\n+79990000001\nnot a phone\n",
    )
    assert imported.status_code == 200 and "Numbers added: 1; lines skipped: 1." in imported.text
    removed = post(installed, "/settings", token, action="stop_remove", phone="+79991112233")
    assert (
        'data-phone="+79991112233"' not in removed.text
        and 'data-phone="+79990000001"' in removed.text
    )
    assert post(installed, "/settings", token, action="stop_add", phone="12").status_code == 400


def test_probe_reaches_delivered_and_is_not_pushed(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    token = token_of(open_app(installed, bitrix24))
    refused = post(installed, "/probe", token, phone="not a phone", text="hi")
    assert refused.status_code == 400 and "not a phone number" in refused.text
    # The page is Russian by default: so is our own rule's reason inside its sentence.
    russian = post(installed, "/probe", token, phone="8 925 ext 1", text="hi", lang="ru")
    assert russian.status_code == 400
    assert "«8 925 ext 1» — не номер телефона: в нём добавочный номер" in russian.text
    empty = post(installed, "/probe", token, phone="+79255070602", text=" ", lang="ru")
    assert empty.status_code == 400 and "этот текст нельзя отправить: текст пустой" in empty.text
    page = post(installed, "/probe", token, phone="+79255070602", text="Проверка")
    assert page.status_code == 200, page.text
    url = re.search(r'data-url="([^"]+)"', page.text)
    assert url, page.text
    status_url = url.group(1).replace("&amp;", "&")

    def state() -> str:
        body = installed.http.get(status_url).json()
        return str(body["state"]) if body["final"] else ""

    def seen() -> object:
        rows = [(m.state, m.sms_id, m.source) for m in installed.messages()]
        return (
            rows,
            installed.http.get(status_url).json(),
            smsru.sent[-2:],
            installed.server.url,
            smsru.callbacks(SMSRU_KEY),
            smsru.callback_deliveries[-3:],
        )

    wait_for(lambda: state() == "delivered", timeout=30, state=seen)
    with Session(installed.engine) as session:
        [message] = session.exec(select(Message)).all()
    assert message.source == "test" and message.state == "delivered"
    assert bitrix24.status_history == {}  # Bitrix24 has no such message and was told nothing
    other = frame_token.issue(SECRET, "d" * 32, 1, True)
    assert installed.http.get(status_url.split("?")[0], params={"token": other}).status_code == 403
    page = open_app(installed, bitrix24)
    last_callback = page.text.split('data-test="last-callback">')[1].split("</dd>")[0]
    assert re.fullmatch(r"\d{1,2} [а-я]+ \d{4}, \d\d:\d\d \(Europe/Moscow\)", last_callback)


def test_analytics_for_the_period_asked(installed: Webhook, bitrix24: PortalEmulator) -> None:
    assert installed.post_message("crm", "+79255070602", "Ваш заказ принят").status_code == 200
    installed.wait_until_settled()
    page = open_app(installed, bitrix24, user_id=2)  # everyone sees the analytics
    assert 'id="sb-analytics"' in page.text and 'data-test="analytics-error"' not in page.text
    token = token_of(page)
    asked = post(installed, "/view", token, first="2026-01-01", last="2026-01-31")
    assert asked.status_code == 200
    assert 'data-first="2026-01-01"' in asked.text and 'data-last="2026-01-31"' in asked.text
    for first, last in (("2026-02-01", "2026-01-01"), ("2026-01-01", "2026-12-31"), ("soon", "")):
        wrong = post(installed, "/view", token, first=first, last=last)
        assert wrong.status_code == 200 and 'data-test="error"' in wrong.text, (first, last)
        assert 'id="sb-analytics"' in wrong.text  # the default period instead


def test_the_template_box_checks_a_text_against_the_portals_deals(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    bitrix24.add_deal("Диван", OPPORTUNITY="29990.00")
    bitrix24.add_deal("Стол", OPPORTUNITY="4990.00")
    token = token_of(open_app(installed, bitrix24, user_id=2))  # anyone may check a text
    text = "Заказ «#DEAL_TITLE#» на #DEAL_OPPORTUNITY# руб. ждёт оплаты. #DEAL_UF_NOSUCH#"
    page = post(installed, "/template", token, template_text=text, entity="deal")
    assert page.status_code == 200, page.text
    result = re.search(r'data-test="template-result">(.*?)</table>', page.text, re.S)
    assert result, page.text
    assert "2 deals, newest first" in result.group(1)
    assert "cost of the sample" in result.group(1)
    assert "#DEAL_UF_NOSUCH#" in page.text and "unknown" in page.text  # named, not guessed
    assert "«#DEAL_TITLE#»" in page.text  # the text kept in its box
    assert not [r for r in smsru.requests if r.path == "/sms/send"]  # priced, never sent
    russian = post(installed, "/template", token, template_text=text, entity="deal", lang="ru")
    result = re.search(r'data-test="template-result">(.*?)</table>', russian.text, re.S)
    assert result, russian.text
    assert "Проверено записей" in result.group(1) and "2 (сделки, сначала новые)" in result.group(1)
    assert "Стоимость выборки" in result.group(1) and "cost of" not in russian.text
    assert "неизвестно: у сделки нет поля UF_NOSUCH" in russian.text and "Поле CRM" in russian.text
    empty = post(installed, "/template", token, template_text=" ", entity="deal")
    assert empty.status_code == 400 and "the template is empty" in empty.text
    wrong = post(installed, "/template", token, template_text=text, entity="invoice")
    assert wrong.status_code == 400 and "entity must be one of" in wrong.text
