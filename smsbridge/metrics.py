"""What the service counts, for `GET /metrics` (Prometheus text format).

One registry per process: the webhook's workers, the token refresher and the rate limiter all
count into it. Queue depths are read from the database when scraped (see webhook/metrics.py).
No label ever carries a secret: SMS.ru accounts are named by the portal they belong to.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

ACCEPTED = Counter(
    "smsbridge_messages_accepted",
    "Messages taken in from Bitrix24",
    ["kind", "source"],
    registry=REGISTRY,
)
SENT = Counter(
    "smsbridge_messages_sent",
    "Messages SMS.ru accepted (given an sms_id)",
    ["kind"],
    registry=REGISTRY,
)
REFUSED = Counter(
    "smsbridge_messages_refused",
    "Messages the policy refused (stop list, no consent, duplicate, too frequent), by reason",
    ["kind", "reason"],
    registry=REGISTRY,
)
FAILED = Counter(
    "smsbridge_messages_failed",
    "Messages failed before or at sending",
    ["kind", "stage"],
    registry=REGISTRY,
)
SEND_SECONDS = Histogram(
    "smsbridge_smsru_send_seconds",
    "Duration of one /sms/send call (up to 100 messages)",
    buckets=(0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60),
    registry=REGISTRY,
)
PUSH_SECONDS = Histogram(
    "smsbridge_bitrix24_push_seconds",
    "Duration of one batch of status pushes, waits included",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
    registry=REGISTRY,
)
STATUSES_PUSHED = Counter(
    "smsbridge_statuses_pushed", "Statuses Bitrix24 accepted", registry=REGISTRY
)
CALLBACK_RECORDS = Counter(
    "smsbridge_callback_records", "SMS.ru status records received", ["result"], registry=REGISTRY
)
RATE_LIMIT_WAIT = Counter(
    "smsbridge_rate_limit_wait_seconds",
    "Time spent waiting for a Bitrix24 request slot",
    registry=REGISTRY,
)
TOKEN_REFRESHES = Counter(
    "smsbridge_token_refreshes", "OAuth token refreshes made", ["result"], registry=REGISTRY
)
SMSRU_BALANCE = Gauge(
    "smsbridge_smsru_balance_rubles",
    "SMS.ru balance as last reported",
    ["account"],
    registry=REGISTRY,
)
INTAKE_BATCH = Histogram(
    "smsbridge_intake_batch_messages",
    "Handler messages stored by one transaction (group commit)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "smsbridge_queue_depth",
    "Messages waiting, by queue (read when scraped)",
    ["queue"],
    registry=REGISTRY,
)
