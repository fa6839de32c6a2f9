"""`normalize-phones` (nightly, and on demand): every PHONE of contacts and leads in E.164.

The work is `smsbridge.normalize.run.normalize_portals`; this flow shows its progress per portal and
entity type, and publishes the summary and the unparseable numbers as artifacts. Dry runs (the
default on demand) write nothing.
"""

from __future__ import annotations

import re
from typing import Any

from prefect import flow

from flows.artifacts import ProgressArtifact, publish_markdown, publish_table
from smsbridge.config import Settings
from smsbridge.normalize.run import (
    NormalizationIncomplete,
    NormalizeReport,
    PassTally,
    normalize_portals,
)
from smsbridge.runtime import runtime

UNPARSEABLE_SHOWN = 1000  # rows in the table artifact; the summary has the full count


def progress_artifact(tally: PassTally) -> ProgressArtifact:
    """A progress artifact per portal and entity type."""
    slug = re.sub(r"[^a-z0-9-]+", "-", tally.member_id.lower())
    return ProgressArtifact(
        f"normalize-phones-progress-{slug}-{tally.entity}",
        f"Phones normalized: {tally.entity}s of portal {tally.member_id}",
    )


@flow(name="normalize-phones", log_prints=True)
async def normalize_phones(
    member_id: str | None = None,
    entities: list[str] = ["contact", "lead"],  # noqa: B006 (a default Prefect's UI shows; never mutated)
    region: str = "RU",
    dry_run: bool = True,
    settings: Settings | None = None,
) -> dict[str, Any]:
    async with runtime(settings) as rt:
        report = await normalize_portals(
            rt,
            progress_artifact,
            member_id=member_id,
            entities=tuple(entities),
            region=region,
            dry_run=dry_run,
        )
    await publish_markdown(
        "normalize-phones-summary", summary_markdown(report), "Phones normalized to E.164"
    )
    await publish_table(
        "normalize-phones-unparseable",
        [
            {
                "portal": bad.member_id,
                "entity": bad.entity,
                "ID": bad.item_id,
                "value": bad.value,
                "reason": bad.reason,
            }
            for bad in report.unparseable[:UNPARSEABLE_SHOWN]
        ],
        "PHONE values that are not phone numbers; left as they are",
    )
    summary = report.summary()
    verb = "would change" if dry_run else "changed"
    print(
        f"{summary['items']} items, {summary['phones']} phones: {summary['already_e164']} "
        f"already E.164, {summary['changed']} {verb}, {summary['unparseable']} unparseable, "
        f"{summary['failed_writes']} failed writes"
    )
    if report.aborted:
        reasons = "; ".join(f"{member}: {why}" for member, why in report.aborted.items())
        raise NormalizationIncomplete(f"stopped on {len(report.aborted)} portal(s): {reasons}")
    return summary


def summary_markdown(report: NormalizeReport) -> str:
    verb = "would change" if report.dry_run else "changed"
    lines = [
        f"# Phone normalization{' (dry run)' if report.dry_run else ''}\n",
        f"| portal | entity | resumed after ID | items | phones | already E.164 | {verb} "
        "| unparseable | failed writes | finished |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {t.member_id} | {t.entity} | {t.resumed_after or '—'} | {t.items} | {t.phones} "
        f"| {t.already_e164} | {t.changed} | {t.unparseable} | {t.failed_writes} "
        f"| {'yes' if t.completed else 'no'} |"
        for t in report.passes
    ]
    if len(report.unparseable) > UNPARSEABLE_SHOWN:
        lines.append(
            f"\nThe unparseable table shows the first {UNPARSEABLE_SHOWN} of "
            f"{len(report.unparseable)}."
        )
    lines += [f"\n**Stopped** on {member}: {why}" for member, why in report.aborted.items()]
    return "\n".join(lines) + "\n"
