"""The Prefect settings `smsbridge run` gives its Prefect server and flow processes.

- API and home: the server of this `run`, its database under `./.prefect`.
- Retention: Prefect keeps every flow run forever unless its database-vacuum service is told to
  delete old ones (`flow_runs`); runs, their logs and artifacts go after RETENTION_DAYS.
- Logging: Prefect's console lines in our format (`logs.FORMAT`), so the foreground log reads as
  one; the server itself logs warnings only.
"""

from __future__ import annotations

from pathlib import Path

from smsbridge.logs import DATE_FORMAT, FORMAT

RETENTION_DAYS = 14


def prefect_environment(port: int, home: Path) -> dict[str, str]:
    return {
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
        "PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD": str(RETENTION_DAYS * 86_400),
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_FORMATTERS_STANDARD_FORMAT": FORMAT,
        "PREFECT_LOGGING_FORMATTERS_STANDARD_FLOW_RUN_FMT": FORMAT.replace(
            "%(name)s", "prefect.flow_run %(flow_run_name)s"
        ),
        "PREFECT_LOGGING_FORMATTERS_STANDARD_TASK_RUN_FMT": FORMAT.replace(
            "%(name)s", "prefect.task_run %(task_run_name)s"
        ),
        "PREFECT_LOGGING_FORMATTERS_STANDARD_DATEFMT": DATE_FORMAT,
    }
