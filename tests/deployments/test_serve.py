"""The deployments: `prefect.yaml` declares them once, and what `smsbridge run` serves is built from
it, so the two cannot drift. Here: the declared values themselves, and that serving carries every
one of them over."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from deployments.serve import PREFECT_YAML, declared, deployments
from flows.check_template import check_template_flow
from flows.daily_report import daily_report
from flows.maintain_sent_flags import maintain_sent_flags
from flows.normalize_phones import normalize_phones
from flows.poll_statuses import poll_statuses
from flows.sync_consent import sync_consent
from flows.sync_stop_list import sync_stop_list
from flows.validate_broadcast import validate_broadcast

MOSCOW = "Europe/Moscow"
ON_DEMAND = ("validate-broadcast", "check-template")


def served() -> dict[str, object]:
    return {deployment.name: deployment for deployment in deployments()}


def test_every_flow_is_served_from_its_entrypoint() -> None:
    flows = {name: d.flow_name for name, d in served().items()}  # type: ignore[attr-defined]
    assert flows == {
        "poll-statuses": poll_statuses.name,
        "normalize-phones": normalize_phones.name,
        "maintain-sent-flags": maintain_sent_flags.name,
        "daily-report": daily_report.name,
        "validate-broadcast": validate_broadcast.name,
        "sync-stop-list": sync_stop_list.name,
        "sync-consent": sync_consent.name,
        "check-template": check_template_flow.name,
    }
    for entry in declared():  # `prefect deploy` reads the entrypoint as a file path
        assert (PREFECT_YAML.parent / entry["entrypoint"].split(":")[0]).is_file(), entry


def test_schedules_and_their_time_zones() -> None:
    schedules = {
        name: [s.schedule for s in d.schedules]  # type: ignore[attr-defined]
        for name, d in served().items()
    }
    [poll] = schedules["poll-statuses"]
    assert poll.interval == timedelta(hours=1)  # one run an hour, polling every 30 s inside it
    crons = {
        name: [(s.cron, s.timezone) for s in found]
        for name, found in schedules.items()
        if name not in ("poll-statuses", *ON_DEMAND)
    }
    assert crons == {
        "normalize-phones": [("0 3 * * *", MOSCOW)],  # nightly
        "maintain-sent-flags": [("0 * * * *", MOSCOW)],  # hourly
        "daily-report": [("30 5 * * *", MOSCOW)],  # early morning, yesterday being over
        "sync-stop-list": [("20 * * * *", MOSCOW)],  # hourly
        "sync-consent": [("40 * * * *", MOSCOW)],  # hourly
    }
    assert all(schedules[name] == [] for name in ON_DEMAND)
    assert all(
        s.active  # type: ignore[attr-defined]
        for d in served().values()
        for s in d.schedules  # type: ignore[attr-defined]
    )


def test_descriptions_and_parameters() -> None:
    by_name = served()
    for entry in declared():
        deployment = by_name[entry["name"]]
        assert deployment.description == entry["description"]  # type: ignore[attr-defined]
        assert deployment.description  # type: ignore[attr-defined]
    parameters = {name: d.parameters for name, d in by_name.items()}  # type: ignore[attr-defined]
    assert parameters == {
        "poll-statuses": {"window": 3600},  # the run's length, as long as the interval
        "normalize-phones": {"dry_run": False},  # the nightly run writes
        "maintain-sent-flags": {},
        "daily-report": {},
        "validate-broadcast": {},
        "sync-stop-list": {},
        "sync-consent": {},
        "check-template": {},
    }


def test_scheduled_runs_never_pile_up() -> None:
    for name, deployment in served().items():
        limit = deployment.concurrency_limit  # type: ignore[attr-defined]
        strategy = deployment.concurrency_options.collision_strategy  # type: ignore[attr-defined]
        if name in ON_DEMAND:
            assert (limit, strategy) == (2, "ENQUEUE")  # on demand: wait, not refuse
        else:
            assert (limit, strategy) == (1, "CANCEL_NEW"), name


def test_every_deployment_goes_to_the_process_work_pool() -> None:
    assert {entry["work_pool"]["name"] for entry in declared()} == {"smsbridge"}


def test_a_declared_setting_serving_would_drop_is_refused(tmp_path: Path) -> None:
    changed = tmp_path / "prefect.yaml"
    text = PREFECT_YAML.read_text()
    changed.write_text(
        text.replace("  - name: daily-report\n", "  - name: daily-report\n    tags: [x]\n")
    )
    with pytest.raises(ValueError, match="daily-report: not served: \\['tags'\\]"):
        deployments(changed)


def test_a_changed_schedule_is_served_as_changed(tmp_path: Path) -> None:
    changed = tmp_path / "prefect.yaml"
    changed.write_text(PREFECT_YAML.read_text().replace('"30 5 * * *"', '"45 6 * * *"'))
    report = {d.name: d for d in deployments(changed)}["daily-report"]
    [schedule] = report.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("45 6 * * *", MOSCOW)  # type: ignore[union-attr]
