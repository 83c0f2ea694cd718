"""Results of a kind no section presents yet and without command runs: listed with their stored
analysis keys and environment, so nothing in the store is silently left off the page."""

from __future__ import annotations

from perflab.report.html.model import ReportData
from perflab.report.html.sections import Section
from perflab.report.html.sections.common import flatten

PRESENTED = {"crypto", "tune-try", "anns"}


def build(data: ReportData) -> Section | None:
    others = [r for r in data.results if not r.commands and r.kind not in PRESENTED]
    if not others:
        return None
    blocks = [{"id": r.id, "anchor": r.anchor, "kind": r.kind, "created_at": r.benchmark.created_at,
               "status": r.benchmark.status, "message": r.benchmark.message,
               "analysis": flatten(r.analysis) if r.analysis else [], "warnings": r.warnings,
               "environment": flatten(r.benchmark.environment) if r.benchmark.environment else []}
              for r in others]
    return Section("other", "Other results", "generic.html.j2", {"blocks": blocks})
