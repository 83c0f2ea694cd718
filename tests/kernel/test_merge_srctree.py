"""Merges resolved with the real Debian linux-source-6.12 tree (the ``srctree`` fixture of conftest.py,
which obtains the tree when it is missing; never skipped)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from perflab.kernel.config import KernelConfig
from perflab.kernel.merge import MergeResult, merge

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[1] / "data" / "kernel"
DEBIAN_612 = DATA / "config-6.12.117+deb12-amd64"
HOT = DATA / "hotpath.config"
CASES = DATA / "cases.config"
VALIDATOR_DB = DATA / "validator-modprobed.db"


def _tree_listing(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.lstat().st_mtime_ns) for p in root.rglob("*"))


@pytest.fixture(scope="module")
def build_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One private state dir for the module, so the kconfig tools are compiled once, not per test."""
    return tmp_path_factory.mktemp("kconfig-state")


@pytest.fixture(autouse=True)
def _shared_build_cache(_private_state: None, build_state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_STATE_DIR", str(build_state))


@pytest.fixture(scope="module")
def resolved(srctree: Path, build_state: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MergeResult, str]]:
    """Our merge of BASE + hot-path + cases fragments, and the kernel's own make olddefconfig of the same.

    The reference is merge_config.sh's recipe: BASE and the fragments concatenated into O/.config,
    then ``make -C tree O=... olddefconfig`` in a fresh output directory. Both run at once.
    """
    ref_dir = tmp_path_factory.mktemp("reference-O")
    (ref_dir / ".config").write_text(DEBIAN_612.read_text() + HOT.read_text() + CASES.read_text())
    reference = subprocess.Popen(["make", "-s", "-C", str(srctree), f"O={ref_dir}", "olddefconfig"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    old = os.environ.get("PERFLAB_STATE_DIR")
    os.environ["PERFLAB_STATE_DIR"] = str(build_state)
    try:
        result = merge(DEBIAN_612, [HOT, CASES], srctree=srctree)
    finally:
        if old is None:
            os.environ.pop("PERFLAB_STATE_DIR", None)
        else:
            os.environ["PERFLAB_STATE_DIR"] = old
        _, err = reference.communicate(timeout=600)
    assert reference.returncode == 0, err
    yield result, (ref_dir / ".config").read_text()


def _rows(result: MergeResult) -> dict[str, tuple[str, str | None, str, str]]:
    return {r.symbol: (r.requested, r.actual, r.status, r.reason) for r in result.rows}


def test_result_equals_make_olddefconfig_line_for_line(resolved: tuple[MergeResult, str]) -> None:
    result, reference = resolved
    assert result.resolved
    assert result.text.splitlines() == reference.splitlines()
    assert result.text == reference


def test_hot_path_fragment_is_honoured(resolved: tuple[MergeResult, str]) -> None:
    result, _ = resolved
    rows = _rows(result)
    for line in HOT.read_text().splitlines():
        if line.startswith("CONFIG_"):
            name = line.split("=")[0][len("CONFIG_"):]
            assert rows[name][2] == "honoured", (name, rows[name])
    out = KernelConfig.loads(result.text)
    assert out.get("CRYPTO_AES_NI_INTEL") == "y" and out.get("KVM_AMD") == "y"


def test_absent_symbols_are_reported(resolved: tuple[MergeResult, str]) -> None:
    rows = _rows(resolved[0])
    # lib/crypto SHA-256 arch symbol of newer kernels, and a made-up one: neither exists in 6.12
    assert rows["CRYPTO_LIB_SHA256_ARCH"][1:3] == (None, "absent")
    assert rows["PERFLAB_NO_SUCH_SYMBOL"][1:3] == (None, "absent")
    assert "not defined" in rows["PERFLAB_NO_SUCH_SYMBOL"][3]
    assert "CONFIG_PERFLAB_NO_SUCH_SYMBOL" not in resolved[0].text


def test_y_lowered_to_m_and_n_are_explained(resolved: tuple[MergeResult, str]) -> None:
    rows = _rows(resolved[0])
    requested, actual, status, reason = rows["USB_NET_CDC_NCM"]
    assert (requested, actual, status) == ("y", "m", "changed")
    assert "depends on" in reason and "USB_USBNET=m" in reason
    requested, actual, status, reason = rows["RCU_DOUBLE_CHECK_CB_TIME"]
    assert (requested, actual, status) == ("y", "n", "changed")
    assert "RCU_EXPERT=n" in reason


def test_lowered_y_names_the_dependency_and_the_lines_that_lift_it(
        resolved: tuple[MergeResult, str], srctree: Path, tmp_path: Path) -> None:
    """The report names the dependency (symbol=value) holding the =y down and the fragment lines that
    lift the whole chain; the kernel's own conf, given those lines, honours the request."""
    result, _ = resolved
    rows = {r.symbol: r for r in result.rows}
    ncm = rows["USB_NET_CDC_NCM"]
    assert set(ncm.held_by) == {"USB_USBNET=m", "USB_NET_DRIVERS=m"}
    assert "held at m by " in ncm.reason and "USB_USBNET=m" in ncm.reason.split("held at m by ")[1]
    # USB_USBNET=y alone is not enough: USB_NET_DRIVERS and, below it, USB are =m too
    assert set(ncm.fix) == {"CONFIG_USB_USBNET=y", "CONFIG_USB_NET_DRIVERS=y", "CONFIG_USB=y"}
    assert ncm.fix.index("CONFIG_USB=y") < ncm.fix.index("CONFIG_USB_NET_DRIVERS=y")  # dependencies first
    assert "add to the fragment: " + " ".join(ncm.fix) in ncm.reason and ncm.fix_checked
    rcu = rows["RCU_DOUBLE_CHECK_CB_TIME"]
    assert rcu.held_by == ["RCU_EXPERT=n"] and rcu.fix == ["CONFIG_RCU_EXPERT=y"] and rcu.fix_checked
    assert rows["CRYPTO_SIMD"].fix == []  # raised by a select: nothing to add
    fix = tmp_path / "fix.config"
    fix.write_text("".join(f"{line}\n" for line in [*ncm.fix, *rcu.fix]))
    fixed = {r.symbol: r for r in merge(DEBIAN_612, [HOT, CASES, fix], srctree=srctree).rows}
    assert (fixed["USB_NET_CDC_NCM"].actual, fixed["USB_NET_CDC_NCM"].status) == ("y", "honoured")
    assert (fixed["RCU_DOUBLE_CHECK_CB_TIME"].actual, fixed["RCU_DOUBLE_CHECK_CB_TIME"].status) == (
        "y", "honoured")


def test_y_held_at_m_by_a_dependency_kept_for_the_fragment(srctree: Path, tmp_path: Path) -> None:
    """--modprobed-db keeps what a fragment's =y depends on, at m: the =y ends m, and the report says
    which kept dependency holds it and what to add; with those lines the kernel's conf gives y."""
    fragment = tmp_path / "fragment.config"
    fragment.write_text("CONFIG_NFT_FIB_INET=y\n")
    result = merge(DEBIAN_612, [fragment], modprobed_db=VALIDATOR_DB, srctree=srctree)
    assert result.prune is not None and "NFT_FIB_IPV4" in result.prune.forced_for_fragment
    (row,) = result.rows
    assert (row.requested, row.actual, row.status) == ("y", "m", "changed")
    assert "NFT_FIB_IPV4=m" in row.held_by and "NFT_FIB_IPV6=m" in row.held_by
    assert {"CONFIG_NFT_FIB_IPV4=y", "CONFIG_NFT_FIB_IPV6=y"} <= set(row.fix) and row.fix_checked
    assert "held at m by " in row.reason and "add to the fragment: CONFIG_" in row.reason
    fix = tmp_path / "fix.config"
    fix.write_text("".join(f"{line}\n" for line in row.fix))
    again = merge(DEBIAN_612, [fragment, fix], modprobed_db=VALIDATOR_DB, srctree=srctree)
    wanted = {"NFT_FIB_INET", *(line[len("CONFIG_"):].split("=")[0] for line in row.fix)}
    assert {r.symbol: r.status for r in again.rows} == dict.fromkeys(wanted, "honoured")


def test_select_that_raises_is_named(resolved: tuple[MergeResult, str]) -> None:
    rows = _rows(resolved[0])
    requested, actual, status, reason = rows["CRYPTO_SIMD"]
    assert (requested, actual, status) == ("n", "y", "changed")
    assert "selected by" in reason and "CRYPTO_AES_NI_INTEL=y" in reason


def test_side_effects_list_unrequested_promotions(resolved: tuple[MergeResult, str]) -> None:
    result, _ = resolved
    effects = {e.symbol: e for e in result.side_effects}
    requested = {r.symbol for r in result.rows}
    assert not requested & set(effects)
    aead = effects["CRYPTO_AEAD"]
    assert (aead.before, aead.after, aead.promotion) == ("m", "y", True)
    assert "selected by" in aead.reason
    out = KernelConfig.loads(result.text)
    for effect in result.side_effects:
        assert out.get(effect.symbol) == effect.after


def test_cli_strict_exits_nonzero_and_reports_table(srctree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.config"
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "perflab", "kernel", "merge", str(DEBIAN_612), str(HOT),
                           str(CASES), "-o", str(out), "--srctree", str(srctree), "--strict"],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 3, proc.stderr
    assert "did not survive" in proc.stderr and "CONFIG_USB_NET_CDC_NCM" in proc.stderr
    assert "CONFIG_USB_NET_CDC_NCM" in proc.stdout and "changed" in proc.stdout
    assert "side effects (not requested)" in proc.stdout
    assert "add to a fragment:" in proc.stdout and "CONFIG_USB=y  # for CONFIG_USB_NET_CDC_NCM" in proc.stdout
    assert out.exists() and KernelConfig.load(out).get("CRYPTO_AES_NI_INTEL") == "y"


def test_modprobed_pruning_with_validator_list(srctree: Path, tmp_path: Path) -> None:
    db = tmp_path / "modprobed.db"
    db.write_text(VALIDATOR_DB.read_text() + "thunderbolt  # obj-${CONFIG_USB4} (brace form)\n"
                  "# not a kernel module of this tree\nperflab_out_of_tree\n")
    fragment = tmp_path / "fragment.config"
    # NFT_FIB_INET needs NFT_FIB_IPV4/IPV6 (=m in BASE, no listed module builds them)
    fragment.write_text("CONFIG_NFT_FIB_INET=m\nCONFIG_CRYPTO_AES_NI_INTEL=y\n")
    base_before = DEBIAN_612.read_bytes()
    result = merge(DEBIAN_612, [fragment], modprobed_db=db, srctree=srctree)
    assert DEBIAN_612.read_bytes() == base_before
    prune = result.prune
    assert prune is not None
    assert prune.unmapped == ["perflab_out_of_tree"]
    assert prune.kept_modules["ixgbe"] == ["IXGBE"] and prune.kept_modules["kvm_amd"] == ["KVM_AMD"]
    assert "BTRFS_FS" in prune.pruned and "IXGBE" not in prune.pruned
    assert prune.kept_modules["thunderbolt"] == ["USB4"] and "USB4" not in prune.pruned
    # Observed: "CONFIG_CRYPTO_GCM n -> m" (the pruned value as "before") when BASE had m. Side effects
    # are shown against BASE; a pruned symbol conf brought back to BASE's value is listed apart.
    base = KernelConfig.load(DEBIAN_612)
    assert base.get("CRYPTO_GCM") == "m" and "selected by" in prune.restored["CRYPTO_GCM"]
    effects = {e.symbol: e for e in result.side_effects}
    assert "CRYPTO_GCM" not in effects
    assert all(e.before == base.get(e.symbol) for e in result.side_effects)
    assert (effects["CRYPTO_SIMD"].before, effects["CRYPTO_SIMD"].after) == ("m", "y")
    assert {"NFT_FIB_IPV4", "NFT_FIB_IPV6"} <= set(prune.forced_for_fragment)
    out = KernelConfig.loads(result.text)
    assert out.get("BTRFS_FS") == "n" and out.get("IXGBE") == "m" and out.get("ZRAM") == "m"
    assert out.get("NFT_FIB_INET") == "m" and out.get("NFT_FIB_IPV4") == "m"
    assert out.get("CRYPTO_AES_NI_INTEL") == "y"
    assert out.count("m") < KernelConfig.load(DEBIAN_612).count("m") // 5
    rows = _rows(result)
    assert rows["NFT_FIB_INET"][2] == "honoured" and rows["CRYPTO_AES_NI_INTEL"][2] == "honoured"
    # every listed module that the tree builds as a module in BASE is still =m or builtin
    for module, symbols in prune.kept_modules.items():
        assert all(out.get(s) in ("m", "y") for s in symbols), module


def test_tree_is_not_modified_and_unclean_tree_works(srctree: Path, tmp_path: Path) -> None:
    """An in-tree-built tree (.config present) makes `make O=` refuse; we see it through a symlink farm."""
    before = _tree_listing(srctree)
    dirty = tmp_path / "dirty-tree"
    dirty.mkdir()
    for entry in srctree.iterdir():
        (dirty / entry.name).symlink_to(entry)
    (dirty / ".config").write_text("CONFIG_SHOULD_BE_IGNORED=y\n")
    fragment = tmp_path / "f.config"
    fragment.write_text("CONFIG_ZRAM=y\n")
    result = merge(DEBIAN_612, [fragment], srctree=dirty)
    assert _rows(result)["ZRAM"][2] == "honoured"
    assert (dirty / ".config").read_text() == "CONFIG_SHOULD_BE_IGNORED=y\n"
    assert _tree_listing(srctree) == before


def test_expert_off_merges_and_explains_held_down_prompts(srctree: Path, tmp_path: Path) -> None:
    """Observed crash (`'int' object has no attribute 'tri_value'`): a fragment switching EXPERT off.

    Also: values the build machine's tools decide are flagged apart (observed: a missing pahole silently
    dropped DEBUG_INFO_BTF). BASE claims a pahole 9.99 that no machine has, so PAHOLE_VERSION changes
    whatever is installed here."""
    fragment = tmp_path / "no-expert.config"
    fragment.write_text("# CONFIG_EXPERT is not set\n")
    base = tmp_path / "base.config"
    base.write_text(DEBIAN_612.read_text().replace("CONFIG_PAHOLE_VERSION=124", "CONFIG_PAHOLE_VERSION=999"))
    result = merge(base, [fragment], srctree=srctree)
    assert _rows(result)["EXPERT"][2] == "honoured"
    effects = {e.symbol: e for e in result.side_effects}
    gpio = effects["GPIO_SYSFS"]
    assert (gpio.before, gpio.after) == ("y", None)
    assert gpio.reason.startswith("prompt visible only if ") and "EXPERT" in gpio.reason
    assert gpio.toolchain == "" and effects["TTY_PRINTK"].toolchain == ""
    pahole = effects["PAHOLE_VERSION"]
    assert pahole.before == "999" and pahole.toolchain.startswith("probed on this machine by $(shell")
    if shutil.which("pahole") is None:  # this machine's case: BTF needs pahole >= 1.16
        assert (effects["DEBUG_INFO_BTF"].before, effects["DEBUG_INFO_BTF"].after) == ("y", None)
        assert effects["DEBUG_INFO_BTF"].toolchain == "hangs on CONFIG_PAHOLE_VERSION"
        assert effects["DEBUG_INFO_BTF_MODULES"].toolchain.startswith("hangs on CONFIG_")
    else:
        assert "DEBUG_INFO_BTF" not in effects or effects["DEBUG_INFO_BTF"].toolchain


CONFIG_61 = DATA / "audit-debian-6.1" / "config-6.1.0-56-amd64"


def test_version_mismatch_is_refused_unless_allowed(srctree: Path, tmp_path: Path) -> None:
    """Observed: a config of another kernel version merged against the 6.12 tree silently."""
    fragment = tmp_path / "f.config"
    fragment.write_text("CONFIG_ZRAM=y\n")
    out = tmp_path / "out.config"
    proc = _cli("kernel", "merge", str(CONFIG_61), str(fragment), "-o", str(out), "--srctree", str(srctree))
    assert proc.returncode == 1 and not out.exists()
    assert proc.stderr == (f"perflab: error: {CONFIG_61}: BASE is a Linux 6.1.192 config but "
                           f"{srctree.resolve()} is Linux 6.12.117: symbols differ between versions; use the "
                           "matching tree or pass --allow-version-mismatch\n")
    result = merge(CONFIG_61, [fragment], srctree=srctree, allow_version_mismatch=True)
    assert result.resolved and any(n.startswith("VERSION MISMATCH (allowed): ") for n in result.notes)
    headerless = tmp_path / "headerless.config"
    headerless.write_text("".join(line + "\n" for line in DEBIAN_612.read_text().splitlines()[4:]))
    result = merge(headerless, [fragment], srctree=srctree)
    assert any("has no '# Linux/<arch> <version> Kernel Configuration' header" in n for n in result.notes)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "perflab", *args], capture_output=True, text=True, env=env,
                          timeout=600, check=False)
