"""How long work tells how far it has got, without knowing who shows it.

The same work runs as a Prefect flow (a progress artifact, `flows.artifacts.ProgressArtifact`) and
as a command (a rich progress bar, `smsbridge.cli.common.ProgressBar`); both are a
`ProgressCallback`.
"""

from __future__ import annotations

from typing import Protocol


class ProgressCallback(Protocol):
    """Told that `done` of `total` units of work are done (rows read, cost calls made, CRM items
    paged); awaited one call at a time, and `done` never goes back."""

    async def __call__(self, done: int, total: int, /) -> None: ...
