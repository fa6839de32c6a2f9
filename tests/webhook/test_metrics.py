"""`GET /metrics` in Prometheus text format, counting what really happened."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from support import SECRET, SMSRU_KEY, Webhook, wait_for

from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator


def scrape(webhook: Webhook) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = webhook.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_follow_a_message_through(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    before = scrape(installed)
    smsru.set_number_error("79031234567", 207)
    delivered = bitrix24.send_message("bizproc", "+79255070602", "считаем", entity=("deal", 1))
    failed = bitrix24.send_message("sender", "+79031234567", "не дойдёт", author_user_id=None)
    wait_for(lambda: bitrix24.message_status(delivered) == "delivered")
    wait_for(lambda: bitrix24.message_status(failed) == "failed")
    # The portal shows a status as soon as it has it; we count the push once we recorded it.
    wait_for(lambda: not any(m.push_pending for m in installed.messages()))
    after = scrape(installed)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("smsbridge_messages_accepted_total", kind="transactional", source="robot") == 1
    assert grew("smsbridge_messages_accepted_total", kind="marketing", source="campaign") == 1
    assert grew("smsbridge_messages_sent_total", kind="transactional") == 1
    assert grew("smsbridge_messages_failed_total", kind="marketing", stage="send") == 1
    assert grew("smsbridge_statuses_pushed_total") == 2
    assert grew("smsbridge_callback_records_total", result="advanced") >= 1
    assert grew("smsbridge_smsru_send_seconds_count") >= 1
    assert grew("smsbridge_intake_batch_messages_sum") == 2  # each stored by a transaction
    assert 1 <= grew("smsbridge_intake_batch_messages_count") <= 2
    assert grew("smsbridge_bitrix24_push_seconds_count") >= 1
    assert value(after, "smsbridge_queue_depth", queue="outbox") == 0
    assert value(after, "smsbridge_queue_depth", queue="status_push") == 0
    assert value(after, "smsbridge_smsru_balance_rubles", account="SMSRU_API_ID") > 0


def test_metrics_never_show_a_secret(installed: Webhook, bitrix24: PortalEmulator) -> None:
    text = installed.http.get("/metrics").text
    for secret in (SECRET, SMSRU_KEY, bitrix24.client_secret, bitrix24.application_token):
        assert secret not in text
