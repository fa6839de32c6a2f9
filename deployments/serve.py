"""Serve every flow deployment from one local process, with a bounded number of runs at once.

`serve(..., limit=None)` would start a process for every due run, and after downtime a 30-second
schedule has piled up many; so at most MAX_CONCURRENT_RUNS run at once, and each deployment
refuses to start a run while its previous one is still going.
"""

from __future__ import annotations

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval

from flows.daily_report import daily_report
from flows.maintain_sent_flags import maintain_sent_flags
from flows.normalize_phones import normalize_phones
from flows.poll_statuses import poll_statuses
from flows.validate_broadcast import validate_broadcast

ONE_AT_A_TIME = ConcurrencyLimitConfig(
    limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
)
MAX_CONCURRENT_RUNS = 4
# Portals are Russian by default (Portal.timezone); the report covers each portal's own day.
TIMEZONE = "Europe/Moscow"


def deployments() -> list[RunnerDeployment]:
    return [
        poll_statuses.to_deployment(
            name="poll-statuses",
            schedule=Interval(30),
            concurrency_limit=ONE_AT_A_TIME,
            description="Ask SMS.ru for the statuses its callbacks did not bring.",
        ),
        normalize_phones.to_deployment(
            name="normalize-phones",
            schedule=Cron("0 3 * * *", timezone=TIMEZONE),
            parameters={"dry_run": False},
            concurrency_limit=ONE_AT_A_TIME,
            description="Nightly: every contact and lead phone to E.164, written back.",
        ),
        maintain_sent_flags.to_deployment(
            name="maintain-sent-flags",
            schedule=Cron("0 * * * *", timezone=TIMEZONE),
            concurrency_limit=ONE_AT_A_TIME,
            description="Hourly: backfill UF_CRM_SMS_SENT writes, clear flags past retention.",
        ),
        daily_report.to_deployment(
            name="daily-report",
            schedule=Cron("30 5 * * *", timezone=TIMEZONE),
            concurrency_limit=ONE_AT_A_TIME,
            description="Daily, early morning: yesterday's delivery figures and HTML report.",
        ),
        validate_broadcast.to_deployment(
            name="validate-broadcast",
            concurrency_limit=ConcurrencyLimitConfig(limit=2),
            description="On demand: check a broadcast's numbers and cost; never sends.",
        ),
    ]


def main() -> None:
    serve(*deployments(), limit=MAX_CONCURRENT_RUNS, pause_on_shutdown=False)


if __name__ == "__main__":
    main()
