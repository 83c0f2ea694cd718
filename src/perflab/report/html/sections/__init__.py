"""The page's sections, one module per kind of record; each says which results it presents.

A section builder takes the whole ``ReportData`` and returns a ``Section`` (or None when it has nothing
to show). New result kinds plug in by adding a builder to ``BUILDERS`` and naming the kinds it claims in
``CLAIMED``; results of a kind nobody claims still appear in the overview and the "other results" section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from perflab.report.html.model import ReportData


@dataclass
class Section:
    id: str  # the anchor
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


Builder = Callable[[ReportData], Section | None]


def builders() -> list[Builder]:
    """Every section in page order."""
    from perflab.report.html.sections import (
        anns,
        benchmarks,
        comparisons,
        crypto,
        generic,
        history,
        method,
        overview,
        suites,
        tuning,
    )

    return [overview.build, method.build, suites.build, history.build, benchmarks.build, comparisons.build,
            tuning.build, crypto.build, anns.build, generic.build]


def build_sections(data: ReportData) -> list[Section]:
    return [s for s in (build(data) for build in builders()) if s is not None]
