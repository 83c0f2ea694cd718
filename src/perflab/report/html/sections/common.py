"""Formatting shared by the sections: figures with their intervals, verdict words, environment rows."""

from __future__ import annotations

import json
from typing import Any

from perflab.report.format import fmt_p, scaled, time_unit

VERDICT_CLASS = {"faster": "v-faster", "slower": "v-slower"}
VERDICT_MARK = {"faster": "▼", "slower": "▲"}


def ci_text(value: float | None, ci: list[float | None] | tuple[float | None, ...] | None,
            unit: tuple[float, str]) -> str:
    """``median [lo, hi] unit`` or the reason there is no interval."""
    if value is None:
        return "n/a"
    suffix = f" {unit[1]}" if unit[1] else ""
    lo, hi = (ci or [None, None])[:2]
    if lo is None or hi is None:
        return f"{scaled(value, unit)}{suffix} (no CI: too few runs)"
    return f"{scaled(value, unit)} [{scaled(lo, unit)}, {scaled(hi, unit)}]{suffix}"


def ratio_text(c: dict[str, Any]) -> str:
    ratio, (lo, hi) = c.get("ratio"), (c.get("ratio_ci") or [None, None])[:2]
    if ratio is None:
        return "undefined"
    if lo is None or hi is None:
        return f"{ratio:.3f} (no CI: too few runs)"
    return f"{ratio:.3f} [{lo:.3f}, {hi:.3f}]"


def verdict_view(c: dict[str, Any]) -> dict[str, str]:
    """The verdict word (always), its mark and CSS class (only when significant)."""
    verdict = c.get("verdict") or "inconclusive"
    word = verdict
    if c.get("metric", "wall") != "wall" and verdict in ("faster", "slower"):
        word += " (better)" if verdict == "faster" else " (worse)"
    return {"verdict": verdict, "word": word, "css": VERDICT_CLASS.get(verdict, "v-none"),
            "mark": VERDICT_MARK.get(verdict, "")}


def comparison_row(tag: str, c: dict[str, Any]) -> dict[str, Any]:
    """A comparison dict as a table row: names, ratio with CI, p-value, verdict, reason."""
    lo, hi = (c.get("ratio_ci") or [None, None])[:2]
    p = fmt_p(c.get("p_adjusted"))
    if (c.get("family_size") or 1) > 1 and c.get("p_adjusted") is not None:
        p += " (Holm)"
    return {"tag": tag, "baseline": c.get("baseline", ""), "candidate": c.get("candidate", ""),
            "metric": c.get("metric", "wall"), "unit": c.get("unit") or "", "ratio": c.get("ratio"),
            "low": lo, "high": hi, "ratio_text": ratio_text(c), "p": p, "reason": c.get("reason") or "",
            **verdict_view(c)}


def unit_for(commands: list[dict[str, Any]]) -> tuple[float, str]:
    medians = [(c.get("wall") or {}).get("median") for c in commands]
    medians = [m for m in medians if m]
    return time_unit(min(medians) if medians else None)


def flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested environment/settings dicts as ``(dotted.key, text)`` rows, in key order."""
    if isinstance(data, dict):
        rows: list[tuple[str, str]] = []
        for key in sorted(data, key=str):
            rows += flatten(data[key], f"{prefix}.{key}" if prefix else str(key))
        return rows or [(prefix, "{}")]
    if isinstance(data, list) and all(not isinstance(v, dict | list) for v in data):
        return [(prefix, " ".join(str(v) for v in data) if data else "[]")]
    if isinstance(data, list):
        return [(prefix, json.dumps(data, default=str))]
    return [(prefix, "n/a" if data is None else str(data))]
