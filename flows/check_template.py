"""`check-template`: what an SMS template will cost on the portal's real CRM data, on demand.

The work is `smsbridge.templates.check.check_template`; this flow shows the CRM items read as a
progress artifact and publishes the figures (markdown), the placeholders, the characters that
make the texts dearer and the first renderings (tables) as keyed artifacts. Nothing is sent.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.artifacts import ProgressArtifact, publish_markdown, publish_table
from smsbridge.config import Settings
from smsbridge.runtime import runtime
from smsbridge.templates.check import DEFAULT_SAMPLE, PRICE_PHONE, TemplateCheck, check_template
from smsbridge.templates.text import costly_rows, figure_rows, placeholder_rows

SUMMARY_KEY = "check-template-summary"
PLACEHOLDERS_KEY = "check-template-placeholders"
COSTLY_KEY = "check-template-costly"
RENDERINGS_KEY = "check-template-renderings"
PROGRESS_KEY = "check-template-progress"
SHOWN_RENDERINGS = 50


def summary_markdown(check: TemplateCheck) -> str:
    lines = ["# Template check", "", f"`{check.text}`", "", "| figure | value |", "|---|---|"]
    lines += [f"| {label.strip()} | {value} |" for label, value in figure_rows(check)]
    unknown = [p for p in check.placeholders if p.problem]
    if unknown:
        lines += ["", "Unknown placeholders (rendered as nothing):", ""]
        lines += [f"- `{p.token}`: {p.problem}" for p in unknown]
    return "\n".join(lines) + "\n\nNothing was sent.\n"


def rendering_rows(check: TemplateCheck) -> list[dict[str, Any]]:
    return [
        {
            "item": r.item_id,
            "characters": len(r.text),
            "encoding": r.measure.encoding,
            "SMS": r.measure.segments,
            "text": r.text,
        }
        for r in check.renderings[:SHOWN_RENDERINGS]
    ]


@flow(name="check-template", log_prints=True)
async def check_template_flow(
    text: str,
    member_id: str,
    entity: str = "deal",
    sample: int = DEFAULT_SAMPLE,
    phone: str = PRICE_PHONE,
    settings: Settings | None = None,
) -> dict[str, Any]:
    async with runtime(settings) as rt:
        check = await check_template(
            rt,
            text,
            member_id=member_id,
            entity=entity,
            sample=sample,
            phone=phone,
            on_progress=ProgressArtifact(PROGRESS_KEY, f"CRM {entity}s read"),
        )
    await publish_markdown(SUMMARY_KEY, summary_markdown(check), "Template check")
    await publish_table(PLACEHOLDERS_KEY, placeholder_rows(check), "Placeholders")
    await publish_table(COSTLY_KEY, costly_rows(check), "Characters that make it dearer")
    shown = f"Renderings (the first {SHOWN_RENDERINGS} of {check.items})"
    await publish_table(RENDERINGS_KEY, rendering_rows(check), shown)
    print(
        f"{check.items} {entity}s: {check.segments} SMS, {check.sample_cost} ₽;"
        f" {check.per_thousand} ₽ per 1,000 sends"
    )
    return check.summary()
