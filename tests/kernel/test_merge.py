"""Textual merges (no --srctree): requests, redefinitions, labelling, atomic output, CLI errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.kernel.config import KernelConfig
from perflab.kernel.merge import UNRESOLVED_HEADER, merge
from perflab.kernel.modprobed import read_modprobed_db

DATA = Path(__file__).resolve().parents[1] / "data" / "kernel"
DEBIAN_612 = DATA / "config-6.12.117+deb12-amd64"
HOT = DATA / "hotpath.config"


def _perflab(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "perflab", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_fragments_later_wins_and_every_redefinition_is_reported(tmp_path: Path) -> None:
    second = tmp_path / "second.config"
    second.write_text("# override\nCONFIG_ZRAM=m\nCONFIG_NEW_THING=y\nCONFIG_KVM=y\n")
    result = merge(DEBIAN_612, [HOT, second])
    assert not result.resolved
    values = {r.symbol: r.value for r in result.requests}
    assert values["ZRAM"] == "m" and values["KVM"] == "y" and values["CRYPTO_AES_NI_INTEL"] == "y"
    redefs = {(r.symbol, r.old, r.new, r.old_source, r.source) for r in result.redefinitions}
    hot_zram_line = next(i for i, line in enumerate(HOT.read_text().splitlines(), 1)
                         if line.startswith("CONFIG_ZRAM="))
    assert ("ZRAM", "m", "y", "BASE", f"{HOT}:{hot_zram_line}") in redefs
    assert ("ZRAM", "y", "m", f"{HOT}:{hot_zram_line}", f"{second}:2") in redefs
    # KVM=y in both fragments: same value again is not a redefinition of the fragment's value
    assert not any(r.symbol == "KVM" and r.source.startswith(str(second)) for r in result.redefinitions)
    # NEW_THING did not exist before: a new symbol, not a redefinition
    assert not any(r.symbol == "NEW_THING" for r in result.redefinitions)
    base = KernelConfig.load(DEBIAN_612)
    assert all(row.status == ("unresolved" if row.symbol in base else "not in BASE") for row in result.rows)
    assert {r.symbol for r in result.rows if r.status == "not in BASE"} >= {"NEW_THING"}
    assert result.text.startswith(UNRESOLVED_HEADER)
    merged = KernelConfig.loads(result.text)
    assert merged.get("ZRAM") == "m" and merged.get("CRYPTO_AES_NI_INTEL") == "y"
    assert merged.get("NEW_THING") == "y"
    assert merged.get("CRYPTO_POLYVAL_CLMUL_NI") == "y"  # was '# ... is not set' in BASE


def test_redefinition_inside_one_fragment(tmp_path: Path) -> None:
    fragment = tmp_path / "frag"
    fragment.write_text("CONFIG_ZRAM=y\nCONFIG_ZRAM=n\n")
    result = merge(DEBIAN_612, [fragment])
    assert [(r.old, r.new, r.old_source, r.source) for r in result.redefinitions if r.symbol == "ZRAM"] == [
        ("m", "y", "BASE", f"{fragment}:1"), ("y", "n", f"{fragment}:1", f"{fragment}:2")]
    assert KernelConfig.loads(result.text).get("ZRAM") == "n"


def test_cli_unresolved_merge_writes_out_and_leaves_base(tmp_path: Path) -> None:
    base = tmp_path / "base.config"
    base.write_bytes(DEBIAN_612.read_bytes())
    before = base.stat()
    out = tmp_path / "out.config"
    proc = _perflab("kernel", "merge", str(base), str(HOT), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "UNRESOLVED" in proc.stdout
    assert "redefined CONFIG_CRYPTO_AES_NI_INTEL: m (BASE) -> y" in proc.stdout
    assert base.read_bytes() == DEBIAN_612.read_bytes() and base.stat().st_mtime_ns == before.st_mtime_ns
    assert KernelConfig.load(out).get("KVM") == "y"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_cli_malformed_fragment_names_file_and_line_and_writes_nothing(tmp_path: Path) -> None:
    fragment = tmp_path / "bad.config"
    fragment.write_text("CONFIG_OK=y\nCONFIG_BROKEN=\"unterminated\n")
    out = tmp_path / "out.config"
    proc = _perflab("kernel", "merge", str(DEBIAN_612), str(fragment), "-o", str(out))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"perflab: error: {fragment}:2: unterminated string value"
    assert not out.exists()


def test_cli_refuses_to_overwrite_base_and_strict_without_srctree(tmp_path: Path) -> None:
    base = tmp_path / "base.config"
    base.write_text("CONFIG_A=y\n")
    proc = _perflab("kernel", "merge", str(base), str(HOT), "-o", str(base))
    assert proc.returncode == 1 and "refusing to overwrite BASE" in proc.stderr
    assert base.read_text() == "CONFIG_A=y\n"
    proc = _perflab("kernel", "merge", str(base), str(HOT), "-o", str(tmp_path / "o"), "--strict")
    assert proc.returncode == 1 and "--strict needs --srctree" in proc.stderr


def test_modprobed_needs_srctree(tmp_path: Path) -> None:
    with pytest.raises(PerflabError, match="--modprobed-db needs --srctree"):
        merge(DEBIAN_612, [HOT], modprobed_db=DATA / "validator-modprobed.db")


def test_read_modprobed_db(tmp_path: Path) -> None:
    names = read_modprobed_db(DATA / "validator-modprobed.db")
    assert "aesni_intel" in names and "kvm_amd" in names and len(names) == len(set(names))
    db = tmp_path / "db"
    db.write_text("# header\nkvm-amd\nkvm_amd  # duplicate spelled with _\n\nnvme\n")
    assert read_modprobed_db(db) == ["kvm_amd", "nvme"]
    db.write_text("nvme\nnot a module\n")
    with pytest.raises(PerflabError, match=rf"{db}:2: not a module name"):
        read_modprobed_db(db)


def test_cli_json_report(tmp_path: Path) -> None:
    import json

    out = tmp_path / "out.config"
    proc = _perflab("kernel", "merge", str(DEBIAN_612), str(HOT), "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["resolved"] is False and data["output"] == str(out)
    assert data["status_counts"]["unresolved"] == len(data["rows"]) == len(data["requests"])
    assert any(r["symbol"] == "KVM" and r["old"] == "m" and r["new"] == "y" for r in data["redefinitions"])


def test_read_lsmod_output_and_proc_modules(tmp_path: Path) -> None:
    """`lsmod > list` works as the kernel's LSMOD= does: header skipped, first word taken."""
    lsmod = tmp_path / "lsmod.txt"
    lsmod.write_text("Module                  Size  Used by\n"
                     "thunderbolt           540672  0\n"
                     "aesni_intel           356352  4\n"
                     "crypto_simd            16384  1 aesni_intel\n"
                     "kvm_amd               212992  0\n")
    assert read_modprobed_db(lsmod) == ["thunderbolt", "aesni_intel", "crypto_simd", "kvm_amd"]
    proc_modules = tmp_path / "modules"
    proc_modules.write_text("kvm_amd 212992 0 - Live 0x0000000000000000\n"
                            "ccp 155648 1 kvm_amd, Live 0x0000000000000000\n")
    assert read_modprobed_db(proc_modules) == ["kvm_amd", "ccp"]
    lsmod.write_text("Module Size Used by\nkvm_amd 212992 0\nkvm amd\n")
    with pytest.raises(PerflabError, match=rf"{lsmod}:3: not a module name"):
        read_modprobed_db(lsmod)


def test_cli_refuses_devices_where_a_config_is_expected(tmp_path: Path) -> None:
    """Observed: `kernel merge ok.config /dev/zero` read until memory ran out."""
    out = tmp_path / "out.config"
    proc = _perflab("kernel", "merge", str(DEBIAN_612), "/dev/zero", "-o", str(out))
    assert proc.returncode == 1 and not out.exists()
    assert proc.stderr == "perflab: error: /dev/zero: a character device, not a kernel config\n"
    proc = _perflab("kernel", "diff", "/dev/zero", str(DEBIAN_612))
    assert proc.returncode == 1
    assert proc.stderr == "perflab: error: /dev/zero: a character device, not a kernel config\n"
    db = tmp_path / "db"
    os.mkfifo(db)
    proc = _perflab("kernel", "merge", str(DEBIAN_612), str(HOT), "-o", str(out), "--modprobed-db", str(db),
                    "--srctree", "/nonexistent-tree")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and not out.exists()


def test_cli_merge_reads_gzipped_base(tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "config.gz"
    packed.write_bytes(gzip.compress(DEBIAN_612.read_bytes()))
    out = tmp_path / "out.config"
    proc = _perflab("kernel", "merge", str(packed), str(HOT), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert KernelConfig.load(out).get("KVM") == "y" and KernelConfig.load(out).get("BTRFS_FS") == "m"


def _tiny_tree(root: Path) -> Path:
    (root / "scripts" / "kconfig").mkdir(parents=True)
    (root / "Kconfig").write_text('config ZRAM\n\ttristate "zram"\n')
    (root / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\nEXTRAVERSION =\n")
    return root


def test_a_tree_another_user_owns_or_can_write_is_refused(tmp_path: Path) -> None:
    """A kernel tree is code (Kconfig's $(shell,...), make): resolving one runs it as this user."""
    tree = _tiny_tree(tmp_path / "tree")
    out = tmp_path / "out.config"
    os.chmod(tree / "Makefile", 0o666)
    proc = _perflab("kernel", "merge", str(DEBIAN_612), str(HOT), "-o", str(out), "--srctree", str(tree))
    assert proc.returncode == 1 and not out.exists()
    assert proc.stderr.startswith(f"perflab: error: {tree.resolve()}/Makefile: writable by group or others "
                                  "(mode 0666): a kernel tree is code")
    assert "--trust-tree" in proc.stderr and proc.stderr.count("\n") == 1
    os.chmod(tree / "Makefile", 0o644)
    os.chown(tree / "Kconfig", 65534, 65534)  # the tests run as root (CI does): nobody's file
    with pytest.raises(PerflabError, match=r"Kconfig: owned by uid 65534, not by you or root: a kernel tree "
                                           r"is code .* pass --trust-tree"):
        merge(DEBIAN_612, [HOT], srctree=tree)
    from perflab.kernel.resolve import check_tree_owner

    os.chown(tree / "Kconfig", os.getuid(), os.getgid())
    check_tree_owner(tree)  # own files, not writable by others: trusted


def test_help_says_a_tree_is_code() -> None:
    proc = _perflab("kernel", "merge", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "A kernel tree is code" in text and "--trust-tree" in text and "--allow-version-mismatch" in text


def test_textual_merge_names_symbols_base_lacks(tmp_path: Path) -> None:
    """Observed: a fragment symbol with no line at all in BASE was "unresolved" like every other row."""
    fragment = tmp_path / "f.config"
    fragment.write_text("CONFIG_KVM=y\nCONFIG_CRYPTO_LIB_SHA256_ARCH=y\nCONFIG_PERFLAB_NO_SUCH=y\n")
    rows = {r.symbol: r for r in merge(DEBIAN_612, [fragment]).rows}
    assert (rows["KVM"].status, rows["KVM"].reason) == ("unresolved", "no --srctree: not checked")
    sha = rows["CRYPTO_LIB_SHA256_ARCH"]
    assert sha.status == "not in BASE"
    assert sha.reason == ("not in BASE: may not exist in this kernel version; newer symbol: replaced "
                          "CONFIG_CRYPTO_SHA256_SSSE3 around 6.17 (CONFIG_CRYPTO_SHA256_SSSE3=m here)")
    assert rows["PERFLAB_NO_SUCH"].reason == "not in BASE: may not exist in this kernel version"
    # a 6.18-style BASE without SHA256_SSSE3: the old name is "moved"
    newer = tmp_path / "newer.config"
    newer.write_text(DEBIAN_612.read_text().replace("CONFIG_CRYPTO_SHA256_SSSE3=m",
                                                    "CONFIG_CRYPTO_LIB_SHA256_ARCH=y"))
    old = tmp_path / "old.config"
    old.write_text("CONFIG_CRYPTO_SHA256_SSSE3=y\n")
    (row,) = merge(newer, [old]).rows
    assert row.reason.endswith("moved to CONFIG_CRYPTO_LIB_SHA256_ARCH around 6.17 "
                               "(CONFIG_CRYPTO_LIB_SHA256_ARCH=y here)")
    out = tmp_path / "out.config"
    proc = _perflab("kernel", "merge", str(DEBIAN_612), str(fragment), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "CONFIG_PERFLAB_NO_SUCH" in x)
    assert "not in BASE: may not exist in this kernel version" in line
    assert "2 unresolved, 1 not in BASE" not in proc.stdout and "1 unresolved, 2 not in BASE" in proc.stdout
