"""kconfiglib on Kconfig syntax newer than PyPI kconfiglib 14.1 (`modules`, `transitional`), and the
explanations built on it, with a small hand-written Kconfig tree (fast; the real tree is in
test_merge_srctree.py)."""

from __future__ import annotations

from pathlib import Path

import kconfiglib
import pytest

from perflab.kernel.kconfig_explain import explain, load_kconfig, preprocess_kconfig

KCONFIG = """\
mainmenu "perflab test"

config MODULES
\tbool "Enable loadable module support"
\tmodules
\tdefault y

config OLD_NAME
\tbool
\ttransitional

config BAR
\ttristate "bar"

config FOO
\ttristate "foo"
\tdepends on BAR

config LIB
\ttristate

config USER
\ttristate "user of lib"
\tselect LIB
"""


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "Kconfig").write_text(KCONFIG)
    (tmp_path / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 18\nSUBLEVEL = 0\nEXTRAVERSION =\n")
    return tmp_path


def test_plain_kconfiglib_fails_on_the_new_keywords(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("srctree", str(tree))
    with pytest.raises(kconfiglib.KconfigError):
        kconfiglib.Kconfig(str(tree / "Kconfig"), warn=False)


def test_preprocessing_keeps_line_numbers() -> None:
    text = preprocess_kconfig(KCONFIG)
    assert text.count("\n") == KCONFIG.count("\n")
    assert "\toption modules\n" in text and "transitional" not in text
    # a help text or a symbol named like the keyword is not touched
    assert preprocess_kconfig("config X\n\thelp\n\t  modules are fine\n") == \
        "config X\n\thelp\n\t  modules are fine\n"


def test_kernel_kconfig_parses_and_explains(tree: Path) -> None:
    kconf = load_kconfig(tree, arch="x86")
    assert kconf.modules.name == "MODULES"  # the `modules` attribute was understood
    config = tree / ".config"
    config.write_text("CONFIG_MODULES=y\nCONFIG_BAR=m\nCONFIG_FOO=m\nCONFIG_USER=y\nCONFIG_LIB=y\n")
    kconf.load_values(config)
    assert kconf.syms["FOO"].str_value == "m"
    reason = explain(kconf, "FOO", "y", "m")
    assert "depends on [BAR] which is m" in reason and "BAR=m" in reason
    assert explain(kconf, "LIB", "n", "y") == "selected by USER=y"
    assert explain(kconf, "NOPE", "y", "n") == "not defined in this tree's Kconfig"
