"""Ideas: the backlog of a performance effort, ranked in tiers, imported from and exported to Markdown.

Tiers (docs/method.md): impact high=3, medium=2, low=1 minus effort low=1, medium=2, high=3.
Score 2 (high impact, low effort) is Tier 1; 1 is Tier 2; 0 is Tier 3; below 0 is "the rest".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.store.method import EFFORTS, IMPACTS, STATUSES, Idea, MethodRecords

TIER_NAMES = {1: "Tier 1", 2: "Tier 2", 3: "Tier 3", 4: "the rest"}
_IMPACT_RANK = {"high": 3, "medium": 2, "low": 1}
_EFFORT_RANK = {"low": 1, "medium": 2, "high": 3}
MAX_IMPORT_BYTES = 4 * 1024 * 1024


def tier(impact: str, effort: str) -> int:
    score = _IMPACT_RANK[impact] - _EFFORT_RANK[effort]
    return {2: 1, 1: 2, 0: 3}.get(score, 4)


@dataclass
class IdeaView:
    """An idea with its tier and its last measured gain (from its newest decided experiment)."""

    idea: Idea
    tier: int
    last_verdict: str | None
    last_gain: float | None
    last_gain_ci: tuple[float, float] | None
    experiments: list[int]

    def to_dict(self) -> dict[str, Any]:
        i = self.idea
        return {
            "id": i.id,
            "title": i.title,
            "impact": i.impact,
            "effort": i.effort,
            "status": i.status,
            "tier": self.tier,
            "tier_name": TIER_NAMES[self.tier],
            "where": i.location,
            "note": i.note,
            "tags": i.tags,
            "created_at": i.created_at,
            "updated_at": i.updated_at,
            "last_verdict": self.last_verdict,
            "last_gain": self.last_gain,
            "last_gain_ci": list(self.last_gain_ci) if self.last_gain_ci else None,
            "experiments": self.experiments,
            "history": i.events,
        }


def views(
    records: MethodRecords, *, status: str | None = None, tag: str | None = None, ids: list[int] | None = None
) -> list[IdeaView]:
    """Ideas ordered by tier then id, with filters."""
    if status is not None and status not in STATUSES:
        raise PerflabError(f"--status must be one of {', '.join(STATUSES)} (got {status!r})")
    out = []
    experiments = records.experiments()
    for idea in records.ideas(ids=ids, with_events=True):
        if (status and idea.status != status) or (tag and tag not in idea.tags):
            continue
        mine = [e for e in experiments if e.idea_id == idea.id]
        decided = [e for e in mine if e.record.get("decision")]
        last = decided[-1].record["decision"] if decided else None
        out.append(
            IdeaView(
                idea=idea,
                tier=tier(idea.impact, idea.effort),
                last_verdict=last["verdict"] if last else None,
                last_gain=last.get("gain") if last else None,
                last_gain_ci=tuple(last["gain_ci"]) if last and last.get("gain_ci") else None,
                experiments=[e.id for e in mine],
            )
        )
    return sorted(out, key=lambda v: (v.tier, v.idea.id))


# -- Markdown -----------------------------------------------------------------------------------------

_STATUS_WORDS = {
    "todo": "todo",
    "to do": "todo",
    "open": "todo",
    "planned": "todo",
    "idea": "todo",
    "new": "todo",
    "in progress": "in-progress",
    "in-progress": "in-progress",
    "wip": "in-progress",
    "doing": "in-progress",
    "review": "review",
    "in review": "review",
    "benching": "benching",
    "benchmarking": "benching",
    "kept": "kept",
    "keep": "kept",
    "maybe": "maybe",
    "discarded": "discarded",
    "discard": "discarded",
    "rejected": "discarded",
    "reject": "discarded",
    "dropped": "discarded",
    "done": "done",
    "merged": "done",
    "shipped": "done",
}
_LEVEL_WORDS = {
    "high": "high",
    "h": "high",
    "medium": "medium",
    "med": "medium",
    "m": "medium",
    "low": "low",
    "l": "low",
}


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]


def _plain(text: str) -> str:
    """Drop Markdown emphasis, code ticks and emoji-like markers from a status or level cell."""
    text = re.sub(r"[*_`~]", "", text)
    return re.sub(r"[^\w\s-]", "", text).strip().lower()


@dataclass
class ParsedIdea:
    line: int
    title: str
    status: str
    impact: str
    effort: str
    location: str | None
    note: str | None
    tags: list[str]


def parse_markdown(path: Path, text: str) -> list[ParsedIdea]:
    """Rows of the first Markdown table with an 'Idea' (or 'Title') column; errors name path:line."""
    lines = text.splitlines()
    header_at = None
    for n, line in enumerate(lines):
        if (
            line.strip().startswith("|")
            and n + 1 < len(lines)
            and re.fullmatch(r"\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*", lines[n + 1])
        ):
            columns = [_plain(c) for c in _cells(line)]
            if "idea" in columns or "title" in columns:
                header_at = n
                break
    if header_at is None:
        raise PerflabError(f"{path}: no Markdown table with an 'Idea' column (a header row, then |---|)")
    columns = [_plain(c) for c in _cells(lines[header_at])]
    col = {name: k for k, name in enumerate(columns)}
    title_col = col.get("idea", col.get("title"))
    parsed = []
    for n in range(header_at + 2, len(lines)):
        line = lines[n]
        if not line.strip().startswith("|"):
            break
        cells = _cells(line)
        if len(cells) != len(columns):
            raise PerflabError(f"{path}:{n + 1}: row has {len(cells)} cells, the header has {len(columns)}")

        def cell(*names: str, _cells: list[str] = cells) -> str:
            for name in names:
                if name in col and _cells[col[name]]:
                    return _cells[col[name]]
            return ""

        title = re.sub(r"[*_`]", "", cells[title_col]).strip()
        if not title:
            raise PerflabError(f"{path}:{n + 1}: empty idea title")
        raw_status = _plain(cell("status", "state")) or "todo"
        status = _STATUS_WORDS.get(raw_status)
        if status is None:
            raise PerflabError(
                f"{path}:{n + 1}: unknown status {cell('status', 'state')!r} "
                f"(use one of {', '.join(STATUSES)})"
            )
        levels = []
        for names, default in ((("impact",), "medium"), (("effort", "cost"), "medium")):
            raw = _plain(cell(*names))
            level = _LEVEL_WORDS.get(raw) if raw else default
            if level is None:
                raise PerflabError(f"{path}:{n + 1}: {names[0]} {cell(*names)!r} is not high, medium or low")
            levels.append(level)
        tags = [t.strip() for t in re.split(r"[,\s]+", cell("tags", "tag")) if t.strip()]
        parsed.append(
            ParsedIdea(
                n + 1,
                title,
                status,
                levels[0],
                levels[1],
                cell("where", "location", "file") or None,
                cell("notes", "note", "description") or None,
                tags,
            )
        )
    if not parsed:
        raise PerflabError(f"{path}:{header_at + 1}: the ideas table has no rows")
    return parsed


def import_markdown(records: MethodRecords, path: Path) -> list[int]:
    """Add every row of the file's ideas table; all or nothing (the file is parsed before any write)."""
    from perflab.fsutil import read_bounded
    from perflab.store.method import now

    raw = read_bounded(path, limit=MAX_IMPORT_BYTES, what="ideas table")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PerflabError(f"{path}: not UTF-8 text (byte {error.start})") from None
    rows = parse_markdown(path, text)
    reason = f"imported from {path.name} on {now()[:10]}"
    return [
        records.add_idea(
            r.title,
            r.impact,
            r.effort,
            status=r.status,
            location=r.location,
            note=r.note,
            tags=r.tags,
            reason=f"{reason}, line {r.line}",
        )
        for r in rows
    ]


def _md(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def export_markdown(items: list[IdeaView]) -> str:
    """One table a team keeps in its repository; `perflab idea import` reads it back."""
    out = [
        "| ID | Idea | Tier | Impact | Effort | Status | Last gain (95 % CI) | Where | Tags | Notes |",
        "|---:|---|---|---|---|---|---|---|---|---|",
    ]
    for v in items:
        i = v.idea
        if v.last_gain is None:
            gain = "not measured"
        elif v.last_gain_ci:
            gain = (
                f"{v.last_gain * 100:+.1f} % [{v.last_gain_ci[0] * 100:+.1f}, {v.last_gain_ci[1] * 100:+.1f}]"
            )
        else:
            gain = f"{v.last_gain * 100:+.1f} % (no CI)"
        if v.last_verdict:
            gain += f" {v.last_verdict}"
        out.append(
            f"| {i.id} | {_md(i.title)} | {TIER_NAMES[v.tier]} | {i.impact} | {i.effort} | {i.status} | "
            f"{gain} | {_md(i.location)} | {_md(', '.join(i.tags))} | {_md(i.note)} |"
        )
    return "\n".join(out) + "\n"


__all__ = [
    "EFFORTS",
    "IMPACTS",
    "STATUSES",
    "IdeaView",
    "export_markdown",
    "import_markdown",
    "parse_markdown",
    "tier",
    "views",
]
