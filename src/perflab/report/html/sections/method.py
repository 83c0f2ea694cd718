"""The performance method (ideas → experiments → decisions): the tracker coloured by verdict, the ideas
board by tier, and each experiment with its decision and the rule that made it. Shown only when the
store holds ideas or experiments."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from perflab.report.html.model import ReportData
from perflab.report.html.sections import Section

#: a decision gets a colour only when it is a clear outcome; the word is always written
DECISION_CLASS = {"KEEP": "v-faster", "DISCARD": "v-slower", "REJECT": "v-slower", "KILL": "v-slower"}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:+.2f} %"


def _gain(value: float | None, ci: list[float] | tuple[float, float] | None) -> str:
    if value is None:
        return "not decided"
    if not ci or ci[0] is None or ci[1] is None:
        return f"{_pct(value)} (no CI)"
    return f"{_pct(value)} [{_pct(ci[0])}, {_pct(ci[1])}]"


def _verdict(word: str | None) -> dict[str, str]:
    return {"word": word or "—", "css": DECISION_CLASS.get(word or "", "v-none")}


def _experiment(e: dict[str, Any], on_page: set[int]) -> dict[str, Any]:
    d = e.get("decision") or {}
    rule = d.get("rule") or {}
    inputs = [{"name": i.get("name"), "weight": i.get("weight"),
               "gain": _gain(i.get("gain"), i.get("gain_ci")),
               "p": "n/a" if i.get("p_holm") is None else f"{i['p_holm']:.3g}",
               "regressed": i.get("regressed"), "n": f"{i.get('n_baseline')} / {i.get('n_candidate')}"}
              for i in d.get("inputs") or []]
    links = [(what, rid, rid in on_page) for what, rid in (("baseline", e.get("baseline_id")),
                                                          ("candidate", e.get("candidate_id"))) if rid]
    return {**e, "gain": _gain(d.get("gain"), d.get("gain_ci")), "reason": d.get("reason") or "",
            "rule": sorted(rule.items()), "inputs": inputs, "links": links,
            "interleaved": d.get("interleaved"), **_verdict(e.get("verdict"))}


def build(data: ReportData) -> Section | None:
    method = data.extras.get("method")
    if not method:
        return None
    on_page = {r.id for r in data.results if r.id is not None}
    ideas = [{**i, "gain": _gain(i.get("last_gain"), i.get("last_gain_ci")),
              **_verdict(i.get("last_verdict"))} for i in method.get("ideas") or []]
    tiers = [(name, list(items)) for name, items in groupby(ideas, key=lambda i: i.get("tier_name"))]
    experiments = [_experiment(e, on_page) for e in method.get("experiments") or []]
    return Section("method", "Experiments and ideas", "method.html.j2",
                   {"tiers": tiers, "experiments": experiments, "n_ideas": len(ideas)})
