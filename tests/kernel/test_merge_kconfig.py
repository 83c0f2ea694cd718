"""kconfiglib on Kconfig syntax newer than PyPI kconfiglib 14.1 (`modules`, `transitional`), and the
explanations built on it, with a small hand-written Kconfig tree (fast; the real tree is in
test_merge_srctree.py)."""

from __future__ import annotations

import os
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


def test_parse_cache_is_reused_and_invalidated(tree: Path, tmp_path: Path) -> None:
    from perflab.kernel import kconfig_cache

    cache = tmp_path / "cache"
    first = load_kconfig(tree, arch="x86", cache_dir=cache)
    pickles = list(cache.glob("*.pickle"))
    assert len(pickles) == 1 and pickles[0].stat().st_mode & 0o777 == 0o600
    key = pickles[0].name.removesuffix(".pickle")
    cached = kconfig_cache.load_cached(cache, key)
    assert cached is not None and cached is not first
    again = load_kconfig(tree, arch="x86", cache_dir=cache)
    config = tree / ".config"
    config.write_text("CONFIG_BAR=m\nCONFIG_FOO=m\n")
    again.load_values(config)
    assert "BAR=m" in explain(again, "FOO", "y", "m")
    # a changed Kconfig file invalidates the entry: the new symbol is seen
    kconfig = tree / "Kconfig"
    kconfig.write_text(KCONFIG + '\nconfig ADDED_LATER\n\tbool "added"\n')
    os.utime(kconfig, ns=(1, 1))
    assert kconfig_cache.load_cached(cache, key) is None
    assert "ADDED_LATER" in load_kconfig(tree, arch="x86", cache_dir=cache).syms
    # a pickle readable by others is never loaded
    pickles[0].chmod(0o644)
    assert kconfig_cache.load_cached(cache, key) is None
