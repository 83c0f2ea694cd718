"""Every symbol of the real 6.12 tree through the explainer: no symbol, value or state may crash it.

Observed: ``# CONFIG_EXPERT is not set`` against Debian's 6.12 config crashed ``kernel merge`` in
``explain`` (``sym.visibility`` is an int, not an expression) for every symbol whose prompt an ``if``
holds down. Here each symbol is asked for y, m and n (and, for int/hex/string symbols, their own value)
against each possible outcome, in three value states of the tree, in one parse: the batch costs a few
seconds instead of one ``make olddefconfig`` per symbol.
"""

from __future__ import annotations

from pathlib import Path

import kconfiglib
import pytest

from perflab.kernel.kconfig_explain import explain, fragment_fix, load_kconfig

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[1] / "data" / "kernel"
DEBIAN_612 = DATA / "config-6.12.117+deb12-amd64"


@pytest.fixture(scope="module")
def kconf(srctree: Path, kconfig_cache: Path) -> kconfiglib.Kconfig:
    return load_kconfig(srctree, "x86_64", cache_dir=kconfig_cache)


def _states(tmp_path: Path) -> dict[str, Path]:
    """Debian's config, the same with EXPERT off (prompts held down by `if EXPERT`), and no config."""
    no_expert = tmp_path / "no-expert.config"
    no_expert.write_text(DEBIAN_612.read_text() + "# CONFIG_EXPERT is not set\n")
    empty = tmp_path / "empty.config"
    empty.write_text("")
    return {"debian": DEBIAN_612, "no-expert": no_expert, "defaults": empty}


def test_every_symbol_set_to_y_m_n_is_explained_without_error(kconf: kconfiglib.Kconfig,
                                                               tmp_path: Path) -> None:
    tristate = (kconfiglib.BOOL, kconfiglib.TRISTATE)
    symbols = kconf.unique_defined_syms
    assert len(symbols) > 15000  # the whole tree, not a subset
    failures: list[str] = []
    calls = 0
    for state, path in _states(tmp_path).items():
        kconf.load_values(path)
        for sym in symbols:
            values = ["y", "m", "n"] if sym.type in tristate else ["y", "m", "n", sym.str_value]
            for requested in values:
                for actual in values:
                    calls += 1
                    try:
                        reason = explain(kconf, sym.name, requested, actual)
                    except Exception as error:  # noqa: BLE001 - the fuzz collects every crash
                        failures.append(f"{state}: explain({sym.name}, {requested}, {actual}): {error!r}")
                        continue
                    if not isinstance(reason, str):
                        failures.append(f"{state}: explain({sym.name}, {requested}, {actual}) -> {reason!r}")
                try:
                    held, lines, blockers = fragment_fix(kconf, sym.name, requested)
                except Exception as error:  # noqa: BLE001
                    failures.append(f"{state}: fragment_fix({sym.name}, {requested}): {error!r}")
                    continue
                if not all(line.startswith("CONFIG_") for line in lines):
                    failures.append(f"{state}: fragment_fix({sym.name}, {requested}) lines {lines!r}")
    assert not failures, f"{len(failures)} of {calls} calls failed; first: {failures[:5]}"


def test_prompt_held_down_by_its_if_is_explained(kconf: kconfiglib.Kconfig, tmp_path: Path) -> None:
    """The path that crashed: GPIO_SYSFS's prompt is `if EXPERT`; with EXPERT off it cannot stay y."""
    kconf.load_values(_states(tmp_path)["no-expert"])
    assert kconf.syms["GPIO_SYSFS"].visibility == 0
    reason = explain(kconf, "GPIO_SYSFS", "y", "n")
    assert reason.startswith("prompt visible only if ") and "EXPERT" in reason
