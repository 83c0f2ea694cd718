"""Markup tables (Markdown, AsciiDoc, Emacs org-mode) in hyperfine's relative style, one table for all.

The cells are computed once (``table_cells``) and each format only draws them, as hyperfine's
``MarkupExporter`` does. "Relative" is the ratio of medians against the reference (the first command,
or the stored baseline) with its bootstrap CI, the same figure the verdicts use, rather than hyperfine's
ratio of means to the fastest command, which carries no interval a reader could check. Every figure
carries its uncertainty or says why it has none.
"""

from __future__ import annotations

from typing import Any

from perflab.report.format import fmt_mean_sd, fmt_with_ci, scaled, time_unit, verdict_line, warning_lines
from perflab.store.model import Benchmark

RIGHT_ALIGNED = (False, True, True, True, True)  # Command, then the figures


def display_order(analysis: dict[str, Any], sort: str = "command") -> list[int]:
    """Indices of the commands as shown: as given, or fastest median first (``sort="median"``)."""
    indices = list(range(len(analysis["commands"])))
    if sort == "median":
        def median(i: int) -> float:
            value = analysis["commands"][i]["wall"]["median"]
            return float("inf") if value is None else value

        indices.sort(key=median)
    return indices


def table_cells(analysis: dict[str, Any], *, unit: tuple[float, str] | None = None,
                sort: str = "command") -> tuple[list[str], list[list[str]]]:
    """Header and rows (plain text; the command cell unescaped) of the results table, in the unit of
    the first command's median unless ``unit`` is given (hyperfine's ``-u``)."""
    commands = analysis["commands"]
    first = next((c["wall"]["median"] for c in commands if c["wall"]["median"] is not None), None)
    unit = unit or time_unit(first)
    u = unit[1]
    header = ["Command", f"Mean ± σ [{u}]", f"Median [{u}] (95% CI)", f"Min … Max [{u}] (observed)",
              "Relative B/A (95% CI)"]
    ratios = {c.get("candidate_index"): c for c in analysis.get("comparisons", [])
              if c.get("metric", "wall") == "wall"}
    reference = analysis.get("reference")
    rows = []
    for i in display_order(analysis, sort):
        cmd = commands[i]
        wall = cmd["wall"]
        comp = ratios.get(i)
        if i == 0 and reference == "first command":
            relative = "1.00 (reference)"
        elif comp is None or comp["ratio"] is None:
            relative = "n/a"
        else:
            lo, hi = comp["ratio_ci"]
            relative = f"{comp['ratio']:.2f}"
            relative += f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else " (no CI)"
        bare = (unit[0], "")
        extremes = "n/a"
        if wall["min"] is not None:
            extremes = f"{scaled(wall['min'], unit)} … {scaled(wall['max'], unit)}"
        rows.append([cmd["name"], fmt_mean_sd(wall, bare), fmt_with_ci(wall, "median", bare), extremes,
                     relative])
    return header, rows


def _notes(analysis: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The verdicts and warnings that follow the table, as (title, items)."""
    out = []
    comparisons = analysis.get("comparisons", [])
    if comparisons:
        title = "Verdicts (alpha {:g}, noise band ±{:g} %):".format(
            analysis.get("alpha", 0.05), analysis.get("noise", 0.01) * 100)
        out.append((title, [verdict_line(c) for c in comparisons]))
    warnings = warning_lines(analysis)
    if warnings:
        out.append(("Warnings:", warnings))
    return out


class MarkupTable:
    """A table format: ``draw`` lays out the cells, the notes (verdicts, warnings) follow the table."""

    name = ""
    extension = ""

    def serialize(self, benchmark: Benchmark, analysis: dict[str, Any], *,
                  time_unit: tuple[float, str] | None = None, sort: str = "command") -> bytes:
        header, rows = table_cells(analysis, unit=time_unit, sort=sort)
        return self.draw(header, rows, _notes(analysis)).encode()

    def draw(self, header: list[str], rows: list[list[str]], notes: list[tuple[str, list[str]]]) -> str:
        raise NotImplementedError


class MarkdownExporter(MarkupTable):
    name = "markdown"
    extension = ".md"

    def draw(self, header: list[str], rows: list[list[str]], notes: list[tuple[str, list[str]]]) -> str:

        def cell(text: str) -> str:
            return text.replace("|", "\\|")

        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---:" if right else ":---" for right in RIGHT_ALIGNED) + "|"]
        for row in rows:
            lines.append("| " + " | ".join([f"`{cell(row[0])}`", *(cell(c) for c in row[1:])]) + " |")
        for title, items in notes:
            lines += ["", title, ""] + [f"- {cell(item)}" for item in items]
        return "\n".join(lines) + "\n"


class AsciidocExporter(MarkupTable):
    """hyperfine's ``--export-asciidoc`` layout: ``[cols="<,>,…"]``, ``|===``, one cell per line."""

    name = "asciidoc"
    extension = ".adoc"

    def draw(self, header: list[str], rows: list[list[str]], notes: list[tuple[str, list[str]]]) -> str:

        def cell(text: str) -> str:
            return text.replace("|", "\\|")

        def row(cells: list[str]) -> str:
            return "\n| " + " \n| ".join(cells) + " \n"

        text = '[cols="' + ",".join(">" if right else "<" for right in RIGHT_ALIGNED) + '"]\n|==='
        text += row(header)
        for r in rows:
            text += row([f"`+{cell(r[0])}+`", *(cell(c) for c in r[1:])])
        text += "|===\n"
        for title, items in notes:
            text += f"\n{title}\n\n" + "".join(f"* {cell(item)}\n" for item in items)
        return text


class OrgmodeExporter(MarkupTable):
    """hyperfine's ``--export-orgmode`` layout: ``| a  |  b |``, a ``|--+--|`` divider, ``=command=``."""

    name = "orgmode"
    extension = ".org"

    def draw(self, header: list[str], rows: list[list[str]], notes: list[tuple[str, list[str]]]) -> str:

        def cell(text: str) -> str:
            return text.replace("|", "\\vert{}")

        def row(cells: list[str]) -> str:
            return f"| {cells[0]}  |  " + " |  ".join(cells[1:]) + " |\n"

        text = row(header) + "|" + "--+" * (len(header) - 1) + "--|\n"
        for r in rows:
            text += row([f"={cell(r[0])}=", *(cell(c) for c in r[1:])])
        for title, items in notes:
            text += f"\n{title}\n\n" + "".join(f"- {cell(item)}\n" for item in items)
        return text
