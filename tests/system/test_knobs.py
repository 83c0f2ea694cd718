"""Knob reads against direct reads of /proc and /sys, and the value-spec semantics on real knobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.system.knobs import KNOBS, FileKnob, get_knob, matches, resolve_value

from .conftest import snapshot


def test_reads_match_the_files() -> None:
    for name, knob in KNOBS.items():
        if not isinstance(knob, FileKnob) or not knob.path.exists():
            continue
        raw = knob.path.read_text()
        if name.startswith("transparent_hugepage"):
            expected = next(w[1:-1] for w in raw.split() if w.startswith("["))
        else:
            expected = " ".join(raw.split())
        assert knob.read() == expected, name


def test_unknown_knob_is_refused() -> None:
    with pytest.raises(PerflabError, match="unknown knob"):
        get_knob("kernel.core_pattern")
    assert get_knob("thp.enabled") is KNOBS["transparent_hugepage.enabled"]


def test_bracketed_choice_reads_the_selected_option() -> None:
    knob = get_knob("transparent_hugepage.enabled")
    raw = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    selected = raw[raw.index("[") + 1 : raw.index("]")]
    assert matches(knob, f"[{selected}]", knob.read())
    assert set(knob.options() or []) == {w.strip("[]") for w in raw.split()}
    assert resolve_value(knob, "nosuchmode", knob.read()) is None


def test_at_least_keeps_values_already_above_the_floor() -> None:
    knob = get_knob("net.ipv4.tcp_rmem")
    low, default, high = (int(v) for v in knob.read().split())
    assert matches(knob, f">={low} {default} {high}", knob.read())
    assert (
        resolve_value(knob, f">={low} {default + 1} {high - 1}", knob.read()) == f"{low} {default + 1} {high}"
    )
    assert matches(knob, f"{low}\t{default}   {high}", knob.read())  # lists compare whitespace-normalised
    somax = get_knob("net.core.somaxconn")
    current = int(somax.read())
    assert resolve_value(somax, f">={current - 1}", somax.read()) == str(current)
    assert resolve_value(somax, f">={current + 1}", somax.read()) == str(current + 1)


def test_alternatives_prefer_the_first_the_kernel_offers() -> None:
    knob = get_knob("net.ipv4.tcp_congestion_control")
    offered = knob.options() or []
    assert offered == Path("/proc/sys/net/ipv4/tcp_available_congestion_control").read_text().split()
    first, second = offered[0], offered[1]
    assert resolve_value(knob, f"nosuch|{first}", second) == first
    assert not matches(knob, f"{first}|{second}", second)  # the first alternative works, so it is wanted
    assert matches(knob, f"nosuch|{second}", second)


def test_dirty_pair_save_restore_is_exact(machine: dict[str, bytes]) -> None:
    ratio, nbytes = get_knob("vm.dirty_ratio"), get_knob("vm.dirty_bytes")
    saved = nbytes.save()
    active = "vm.dirty_ratio" if ratio.read() != "0" else "vm.dirty_bytes"
    assert saved.startswith(active + "=")
    nbytes.write("50000000")
    assert ratio.read() == "0" and nbytes.read() == "50000000"
    nbytes.restore(saved)
    assert snapshot() == machine
