"""The deployments: what `smsbridge run` serves and what `prefect deploy` deploys agree."""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path

import yaml

from deployments.serve import deployments

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


def served() -> dict[str, object]:
    return {deployment.name: deployment for deployment in deployments()}


def test_every_flow_is_served_with_its_schedule() -> None:
    by_name = served()
    assert set(by_name) == {
        "poll-statuses",
        "normalize-phones",
        "maintain-sent-flags",
        "daily-report",
        "validate-broadcast",
    }
    schedules = {name: d.schedules for name, d in by_name.items()}  # type: ignore[attr-defined]
    assert schedules["poll-statuses"][0].schedule.interval == timedelta(seconds=30)
    assert schedules["normalize-phones"][0].schedule.cron == "0 3 * * *"
    assert schedules["maintain-sent-flags"][0].schedule.cron == "0 * * * *"
    assert schedules["daily-report"][0].schedule.cron == "30 5 * * *"
    assert schedules["validate-broadcast"] == []  # on demand only
    assert by_name["normalize-phones"].parameters == {"dry_run": False}  # type: ignore[attr-defined]


def test_scheduled_runs_never_pile_up() -> None:
    for name, deployment in served().items():
        limit = deployment.concurrency_limit  # type: ignore[attr-defined]
        strategy = deployment.concurrency_options.collision_strategy  # type: ignore[attr-defined]
        if name == "validate-broadcast":
            assert (limit, strategy) == (2, "ENQUEUE")  # on demand: wait, not refuse
        else:
            assert (limit, strategy) == (1, "CANCEL_NEW"), name


def test_prefect_yaml_matches_the_served_deployments() -> None:
    config = yaml.safe_load(PREFECT_YAML.read_text())
    by_name = served()
    assert {d["name"] for d in config["deployments"]} == set(by_name)
    for entry in config["deployments"]:
        path, function = entry["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, function)
        assert flow.name == by_name[entry["name"]].flow_name  # type: ignore[attr-defined]
        limit = entry["concurrency_limit"]["limit"]
        assert limit == by_name[entry["name"]].concurrency_limit  # type: ignore[attr-defined]
        assert entry.get("parameters", {}) == by_name[entry["name"]].parameters  # type: ignore[attr-defined]
