"""Prefect artifacts of our flows: keyed (so the UI versions them run over run), and silent
outside a flow run, so that `flow.fn()` works in unit tests and from the CLI without a server."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)
from prefect.context import FlowRunContext


def _in_a_run() -> bool:
    return FlowRunContext.get() is not None


async def publish_markdown(key: str, markdown: str, description: str) -> None:
    if _in_a_run():
        await acreate_markdown_artifact(key=key, markdown=markdown, description=description)


async def publish_table(key: str, rows: list[dict[str, Any]], description: str) -> None:
    if _in_a_run():
        await acreate_table_artifact(table=rows, key=key, description=description)


class ProgressArtifact:
    """A `ProgressCallback` shown as a progress artifact (0–100 %), made at the first call."""

    def __init__(self, key: str, description: str) -> None:
        self.key = key
        self.description = description
        self._artifact: UUID | None = None
        self._shown = -1.0

    async def __call__(self, done: int, total: int, /) -> None:
        if not _in_a_run():
            return
        percent = round(min(100.0, 100.0 * done / total), 1) if total > 0 else 100.0
        if percent - self._shown < 1.0 and percent < 100.0:
            return  # no more than ~100 updates, however long the work
        if self._artifact is None:
            self._artifact = await acreate_progress_artifact(
                percent, key=self.key, description=self.description
            )
        else:
            await aupdate_progress_artifact(self._artifact, percent)
        self._shown = percent
