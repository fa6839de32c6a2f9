"""A flow run for real through the Prefect test server (`prefect_harness`), as a deployment's run
would be: its result and the artifacts it published."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId


def run_for_real(flow: Any, **parameters: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The flow's result and its artifacts by key."""

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        state = await flow(**parameters, return_state=True)
        summary = await state.aresult()
        run_id = state.state_details.flow_run_id
        async with get_client() as client:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
        return summary, {artifact.key: artifact for artifact in artifacts}

    return asyncio.run(run())
