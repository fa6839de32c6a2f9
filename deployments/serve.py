"""Serve every flow deployment of `prefect.yaml` from one local process, a bounded number at once.

The deployments are declared once, in `prefect.yaml` (what `prefect deploy --all` deploys to a
work pool); this builds the same deployments from it (name, flow, description, schedules with
their time zones, parameters, concurrency limit), so `smsbridge run` cannot drift from production.

`serve(..., limit=None)` would start a process for every due run, and after downtime a 30-second
schedule has piled up many; so at most MAX_CONCURRENT_RUNS run at once, and each deployment's own
concurrency limit (CANCEL_NEW for the scheduled ones) refuses a run while its previous one is going.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml
from prefect import Flow, serve
from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
from prefect.client.schemas.objects import ConcurrencyLimitConfig
from prefect.deployments.runner import RunnerDeployment

PREFECT_YAML = Path(__file__).resolve().parent.parent / "prefect.yaml"
MAX_CONCURRENT_RUNS = 4
# What a deployment may declare that serving carries over; `work_pool` is where `prefect deploy`
# sends it, which serving has no use for. Anything else would be silently dropped: refuse it.
SERVED_KEYS = {"name", "entrypoint", "description", "schedules", "parameters", "concurrency_limit"}
IGNORED_KEYS = {"work_pool"}


def declared(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The deployments as `prefect.yaml` declares them (its YAML anchors resolved)."""
    entries: list[dict[str, Any]] = yaml.safe_load(path.read_text())["deployments"]
    for entry in entries:
        unknown = set(entry) - SERVED_KEYS - IGNORED_KEYS
        if unknown:
            raise ValueError(f"{path.name}: {entry['name']}: not served: {sorted(unknown)}")
    return entries


def deployments(path: Path = PREFECT_YAML) -> list[RunnerDeployment]:
    return [_deployment(entry) for entry in declared(path)]


def _deployment(entry: dict[str, Any]) -> RunnerDeployment:
    limit = entry.get("concurrency_limit")
    return _flow(entry["entrypoint"]).to_deployment(
        name=entry["name"],
        description=entry.get("description"),
        # Prefect's own reading of a schedule entry, the one `prefect deploy` applies.
        schedules=[_schedule_config_to_deployment_schedule(s) for s in entry.get("schedules", [])],
        parameters=entry.get("parameters", {}),
        concurrency_limit=ConcurrencyLimitConfig(**limit) if limit else None,
    )


def _flow(entrypoint: str) -> Flow[..., Any]:
    """`flows/poll_statuses.py:poll_statuses` → the flow object of module `flows.poll_statuses`."""
    path, name = entrypoint.split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, name)
    if not isinstance(flow, Flow):
        raise TypeError(f"{entrypoint} is not a flow")
    return flow


def main() -> None:
    serve(*deployments(), limit=MAX_CONCURRENT_RUNS, pause_on_shutdown=False)


if __name__ == "__main__":
    main()
