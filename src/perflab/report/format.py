"""Human formatting of figures with their uncertainty, shared by the terminal and markdown output."""

from __future__ import annotations

from typing import Any

_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
_BYTE_UNITS = ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B"))


def time_unit(seconds: float | None) -> tuple[float, str]:
    """The unit hyperfine would pick: the largest one in which the value is at least 1."""
    if seconds is None or seconds == 0:
        return 1.0, "s"
    for scale, name in _TIME_UNITS:
        if abs(seconds) >= scale:
            return scale, name
    return _TIME_UNITS[-1]


def _sig(x: float) -> str:
    """Four significant figures without scientific notation for everyday magnitudes."""
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:.0f}"
    if abs(x) >= 100:
        return f"{x:.1f}"
    if abs(x) >= 10:
        return f"{x:.2f}"
    return f"{x:.3f}"


def fmt_time(seconds: float | None, unit: tuple[float, str] | None = None, *, suffix: bool = True) -> str:
    if seconds is None:
        return "n/a"
    scale, name = unit or time_unit(seconds)
    text = _sig(seconds / scale)
    return f"{text} {name}" if suffix else text


def fmt_value(value: float | None, unit: str) -> str:
    """A custom metric's value in its own unit."""
    if value is None:
        return "n/a"
    return f"{_sig(value)} {unit}".rstrip()


def byte_unit(value: float | None) -> tuple[float, str]:
    if value is None:
        return 1, "B"
    for scale, name in _BYTE_UNITS:
        if abs(value) >= scale:
            return scale, name
    return 1, "B"


def scaled(value: float | None, unit: tuple[float, str]) -> str:
    return "n/a" if value is None else _sig(value / unit[0])


def fmt_with_ci(summary: dict[str, Any], key: str, unit: tuple[float, str]) -> str:
    """``median [lo, hi] unit`` or ``median unit (no CI: reason)``, one unit for all three numbers."""
    value = summary.get(key)
    ci = summary.get(f"{key}_ci") or [None, None]
    suffix = f" {unit[1]}" if unit[1] else ""
    if value is None:
        return "n/a (" + "; ".join(summary.get("notes") or ["no samples"]) + ")"
    if ci[0] is None or ci[1] is None:
        return f"{scaled(value, unit)}{suffix} (no CI: n={summary.get('n')})"
    return f"{scaled(value, unit)} [{scaled(ci[0], unit)}, {scaled(ci[1], unit)}]{suffix}"


def fmt_mean_sd(summary: dict[str, Any], unit: tuple[float, str]) -> str:
    """``mean ± sd unit``; the sd is n/a (with n) when there is a single sample."""
    mean, sd = summary.get("mean"), summary.get("stddev")
    suffix = f" {unit[1]}" if unit[1] else ""
    if mean is None:
        return "n/a"
    if sd is None:
        return f"{scaled(mean, unit)}{suffix} ± n/a (n={summary.get('n')})"
    return f"{scaled(mean, unit)} ± {scaled(sd, unit)}{suffix}"


def fmt_range(summary: dict[str, Any], unit: tuple[float, str]) -> str:
    if summary.get("min") is None:
        return "n/a"
    suffix = f" {unit[1]}" if unit[1] else ""
    return f"{scaled(summary['min'], unit)} … {scaled(summary['max'], unit)}{suffix}"


def fmt_p(p: float | None) -> str:
    if p is None:
        return "p n/a"
    if p < 0.001:
        return "p<0.001"
    return f"p={p:.3f}"


def ratio_text(c: dict[str, Any]) -> str:
    """One comparison's ratio in one stated direction, B/A (candidate over baseline), with its CI, and the
    plain words for it: ``B is 1.29× slower than A (B/A 1.290 [1.270, 1.310])``.

    The interval is only ever printed as B/A, so the words and the table cannot disagree; a ratio that
    rounds to 1.00 is "≈", never "1.00× slower"; a zero median (below the timer's resolution, e.g. after
    the shell's spawn cost is subtracted) is said, never divided by."""
    ratio, (lo, hi) = c.get("ratio"), c.get("ratio_ci") or [None, None]
    cand, base = c["candidate"], c["baseline"]
    if c.get("against") not in (None, "first command"):
        base = f"{base} ({c['against']})"
    if ratio is None:
        return f"{cand} vs {base}: ratio undefined"
    ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else " (no CI: too few runs)"
    figure = f"B/A {ratio:.3f}{ci}"
    if c.get("metric", "wall") != "wall":
        unit = f" ({c['unit']})" if c.get("unit") else ""
        return f"{cand} {c['metric']}{unit} vs {base}: {figure}"
    if ratio <= 0:
        return (f"{cand}'s median time is 0, below the timer's resolution (with --shell: after the shell's "
                f"spawn cost is subtracted), so it has no ratio to {base}: {figure}")
    if round(ratio, 2) == 1.0:
        return f"{cand} ≈ {base} ({figure})"
    if ratio > 1:
        return f"{cand} is {ratio:.2f}× slower than {base} ({figure})"
    return f"{cand} is {1 / ratio:.2f}× faster than {base} ({figure})"


def verdict_line(c: dict[str, Any]) -> str:
    """One comparison as plain text, e.g. ``B is 1.29× slower than A [1.27, 1.31], p=0.001 → slower``."""
    p_txt = fmt_p(c.get("p_adjusted"))
    if c.get("family_size", 1) > 1 and c.get("p_adjusted") is not None:
        p_txt += " (Holm)"
    verdict = c["verdict"]
    if c.get("metric", "wall") != "wall" and verdict in ("faster", "slower"):
        verdict += " (better)" if verdict == "faster" else " (worse)"
    return f"{ratio_text(c)}, {p_txt} → {verdict}"


def warning_lines(analysis: dict[str, Any]) -> list[str]:
    """Every warning of an analysis: each command's (prefixed with its name), then the benchmark's."""
    lines = [f"{cmd['name']}: {w}" for cmd in analysis["commands"] for w in cmd.get("warnings", [])]
    return lines + analysis.get("warnings", [])
