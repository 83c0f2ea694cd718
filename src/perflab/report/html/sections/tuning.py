"""`perflab tune try` trials: which settings were tried, each candidate against the baseline, and what
was kept or restored."""

from __future__ import annotations

from perflab.report.html.model import ReportData
from perflab.report.html.sections import Section
from perflab.report.html.sections.common import flatten
from perflab.report.html.sections.comparisons import comparison_block, whisker_figures


def build(data: ReportData) -> Section | None:
    trials = data.of_kind("tune-try")
    if not trials:
        return None
    blocks = []
    for r in trials:
        block = comparison_block(r)
        settings = r.benchmark.settings
        block.update(
            created_at=r.benchmark.created_at, status=r.benchmark.status, message=r.benchmark.message,
            command=r.benchmark.commands[0].command if r.benchmark.commands else "",
            candidates=flatten(settings.get("candidates") or {}),
            originals=flatten(r.analysis.get("restored_to") or settings.get("originals") or {}),
            kept=r.analysis.get("kept"), keep_reason=r.analysis.get("keep_reason") or "",
            decision_metric=r.analysis.get("decision_metric") or "wall",
            dropped=flatten(settings.get("dropped") or {}) if settings.get("dropped") else [])
        blocks.append(block)
    return Section("tune-try", "Tuning trials (tune try)", "tuning.html.j2",
                   {"blocks": blocks, "figures": whisker_figures(trials, blocks, "tune")})
