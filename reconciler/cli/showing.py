"""``show``: a saved plan file (or drift report) rendered again, as ``terraform show`` does.

A pipeline plans once (``plan --out plan.json``) and renders the review comment from that file, so the comment
shows exactly the plan that ``apply plan.json`` will carry out. Showing needs no API key and sends no request:
it goes through the same renderers as ``plan``, so each format reads byte for byte as ``plan`` printed it.
"""

from __future__ import annotations

import click

from reconciler.cli.app import EXIT_OK, cli, debug_option, guarded
from reconciler.cli.output import full_values_option, show_plan
from reconciler.cli.planning import FORMATS


@cli.command()
@click.argument("planfile", type=click.Path(dir_okay=False))
@click.option("--format", "output", type=FORMATS, default="text", show_default=True, help="How stdout shows the plan.")
@full_values_option
@debug_option
@guarded
def show(planfile: str, output: str, *, full_values: bool) -> int:
    """Show a saved plan file (plan --out) again, as plan printed it. No API key, no request."""
    from reconciler.planning import planfiles

    document = planfiles.load(planfile)
    if document.kind == "plan":
        planfiles.check(document, planfile)  # never render, as a plan to review, one that apply would refuse
    plan = planfiles.to_plan(document)
    drift = document.kind == "drift"
    meta = planfiles.meta(document)
    show_plan(plan, output, partial=document.partial, drift=drift, meta=meta, full=full_values)
    return EXIT_OK
