"""`perflab kernel diff` on Debian's 6.12 config and an edited copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from perflab.kernel.config import KernelConfig
from perflab.kernel.diff import diff_configs, diff_files
from perflab.kernel.merge import merge

DATA = Path(__file__).resolve().parents[1] / "data" / "kernel"
DEBIAN_612 = DATA / "config-6.12.117+deb12-amd64"


def _edited(tmp_path: Path) -> Path:
    config = KernelConfig.load(DEBIAN_612)
    config.set("KVM", "y")  # m → y
    config.set("CRYPTO_AES_NI_INTEL", "y")  # m → y
    config.set("ZRAM", "n")  # m → n
    config.set("HZ_1000", "y")  # n → y
    config.set("NR_CPUS", "64")  # int change
    config.set("LOCALVERSION", "-perflab")  # string change
    config.set("BRAND_NEW_OPTION", "m")  # added
    config.remove("BTRFS_FS")  # removed (was m)
    path = tmp_path / "b.config"
    config.write(path)
    return path


def test_diff_lists_sorted_changes_counts_and_promotions(tmp_path: Path) -> None:
    result = diff_files(DEBIAN_612, _edited(tmp_path))
    assert [c.symbol for c in result.added] == ["BRAND_NEW_OPTION"]
    assert [(c.symbol, c.old, c.new) for c in result.removed] == [("BTRFS_FS", "m", None)]
    changed = [(c.symbol, c.old, c.new) for c in result.changed]
    assert changed == sorted(changed)
    assert ("NR_CPUS", "8192", "64") in changed and ("LOCALVERSION", "", "-perflab") in changed
    assert [c.symbol for c in result.promotions] == ["CRYPTO_AES_NI_INTEL", "KVM"]
    assert result.counts["a"]["y"] == 2647 and result.counts["a"]["m"] == 4051
    assert result.counts["b"]["y"] == 2647 + 3 and result.counts["b"]["m"] == 4051 - 4 + 1


def test_fragment_turns_a_into_b(tmp_path: Path) -> None:
    b_path = _edited(tmp_path)
    result = diff_files(DEBIAN_612, b_path)
    fragment = tmp_path / "b-minus-a.config"
    fragment.write_text(result.fragment())
    merged = merge(DEBIAN_612, [fragment])
    merged_values = KernelConfig.loads(merged.text).as_dict()
    b_values = KernelConfig.load(b_path).as_dict()
    for name, value in b_values.items():
        assert merged_values[name] == value, name
    assert merged_values["BTRFS_FS"] == "n"  # removed symbols become 'is not set'
    again = diff_configs(KernelConfig.load(b_path), KernelConfig.loads(merged.text))
    assert not again.changed and not again.removed
    # the only difference: what B leaves unwritten the fragment writes as 'is not set'
    assert [(c.symbol, c.old, c.new) for c in again.added] == [("BTRFS_FS", None, "n")]


def test_identical_configs_have_no_diff() -> None:
    config = KernelConfig.load(DEBIAN_612)
    result = diff_configs(config, config.copy())
    assert not (result.added or result.removed or result.changed)


def test_cli_json_and_text(tmp_path: Path) -> None:
    b_path = _edited(tmp_path)
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "perflab", "kernel", "diff", str(DEBIAN_612), str(b_path)]
    proc = subprocess.run([*cmd, "--json"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {c["symbol"] for c in data["promotions_m_to_y"]} == {"KVM", "CRYPTO_AES_NI_INTEL"}
    assert data["counts"]["a"]["m"] == 4051
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0
    assert "1 added, 1 removed, 6 changed (2 m → y, 0 y → m)" in proc.stdout
    assert "CONFIG_KVM: m → y" in proc.stdout
    bad = tmp_path / "bad"
    bad.write_text("CONFIG_X=y\nnonsense\n")
    proc = subprocess.run([*cmd[:-1], str(bad)], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert proc.returncode == 1 and proc.stderr.startswith(f"perflab: error: {bad}:2: ")


def test_empty_string_is_quoted_in_the_fragment_and_the_plain_diff(tmp_path: Path) -> None:
    """Observed: CONFIG_BUILD_SALT="" became CONFIG_BUILD_SALT="n" in the fragment, a blank in the diff."""
    a = tmp_path / "a.config"
    a.write_text('CONFIG_BUILD_SALT="6.12.117"\nCONFIG_LOCALVERSION=""\nCONFIG_KVM=m\n')
    b = tmp_path / "b.config"
    b.write_text('CONFIG_BUILD_SALT=""\nCONFIG_LOCALVERSION="-x"\nCONFIG_KVM=y\n')
    result = diff_files(a, b)
    fragment = result.fragment().splitlines()
    assert 'CONFIG_BUILD_SALT=""' in fragment and 'CONFIG_LOCALVERSION="-x"' in fragment
    out = tmp_path / "fragment.config"
    out.write_text(result.fragment())
    merged = KernelConfig.loads(merge(a, [out]).text)
    assert merged.get("BUILD_SALT") == "" and merged.get("LOCALVERSION") == "-x"
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "perflab", "kernel", "diff", str(a), str(b)],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert 'CONFIG_BUILD_SALT: "6.12.117" → ""' in proc.stdout
    assert 'CONFIG_LOCALVERSION: "" → "-x"' in proc.stdout and "CONFIG_KVM: m → y" in proc.stdout


def test_diff_reads_gzipped_configs(tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "a.config.gz"
    packed.write_bytes(gzip.compress(DEBIAN_612.read_bytes()))
    result = diff_files(packed, _edited(tmp_path))
    assert [c.symbol for c in result.promotions] == ["CRYPTO_AES_NI_INTEL", "KVM"]
