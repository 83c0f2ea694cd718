"""`perflab kernel audit` of the machine the tests run on: real /proc/config.gz, /proc/cpuinfo,
/proc/crypto. On the project's VM the CPU has aes/vaes/sha_ni while CONFIG_CRYPTO_AES_NI_INTEL is not
set; the assertions are derived from the real files, so they hold (and can fail) on any machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from perflab.kernel.audit import audit, gather_sources
from perflab.kernel.config import running_config
from perflab.kernel.cpu import read_cpu_flags
from perflab.kernel.hotpath import load_groups
from perflab.kernel.proc_crypto import active_driver, read_proc_crypto

SRC = Path(__file__).resolve().parents[2] / "src"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "perflab", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)


def test_aes_ni_missing_while_cpu_has_aes() -> None:
    config, label = running_config()
    flags = read_cpu_flags()
    report = audit(load_groups(), gather_sources())
    assert report.config == label and report.running
    aes_unused = "aes" in flags and config.get("CRYPTO_AES_NI_INTEL") not in ("y", "m")
    findings = [f for f in report.findings if f.flag == "aes"]
    assert bool(findings) == aes_unused
    if aes_unused:
        (finding,) = findings
        assert finding.kind == "cpu-feature-unused"
        value = config.get("CRYPTO_AES_NI_INTEL")
        told = "is not set" if value == "n" else f"={value}" if value else ""
        expected = f"CPU has aes (AES-NI) but CONFIG_CRYPTO_AES_NI_INTEL {told}"
        assert expected in finding.message or value is None
        # The finding names the driver the kernel really uses for aes instead.
        best = active_driver(read_proc_crypto(), "aes")
        assert best is not None and f"aes runs on {best.driver}" in finding.message
        state = {a.algorithm: a for a in report.algorithms}["aes"]
        assert state.driver == best.driver and state.kind == "generic"


def test_symbol_states_follow_the_real_config() -> None:
    config, _ = running_config()
    report = audit(load_groups(), gather_sources())
    expected = {None: "absent", "n": "not set", "y": "builtin", "m": "module"}
    assert report.symbols
    for st in report.symbols:
        value = config.get(st.symbol)
        assert st.value == value
        if st.state == "moved":  # absent, a newer symbol does its job here (6.17+: SHA*_SSSE3 → lib/crypto)
            assert value is None and "moved to CONFIG_" in st.detail
            successor = st.detail.split("moved to CONFIG_")[1].split()[0]
            assert config.get(successor) is not None
        elif st.state == "not yet":  # absent, its predecessor is here
            assert value is None and "newer symbol: replaced CONFIG_" in st.detail
        else:
            assert st.state == expected.get(value, "value")
    notes = " ".join(report.notes)
    assert ("CONFIG_MODULES is off" in notes) == (config.get("MODULES") != "y")
    assert report.modules_enabled == (config.get("MODULES") == "y")


def test_lib_arch_sha_classified_by_config() -> None:
    """A ``sha256-lib`` driver is accelerated exactly when CONFIG_CRYPTO_LIB_SHA256_ARCH=y."""
    config, _ = running_config()
    report = audit(load_groups(), gather_sources())
    algos = {a.algorithm: a for a in report.algorithms}
    sha = algos["sha256"]
    if sha.driver == "sha256-lib":
        expect = "accelerated" if config.get("CRYPTO_LIB_SHA256_ARCH") == "y" else "generic"
        assert sha.kind == expect


def test_cli_json_and_table() -> None:
    result = run_cli("kernel", "audit", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["running"] is True
    assert {s["group"] for s in data["symbols"]} == {"crypto", "storage", "compression", "virtualization",
                                                     "network"}
    flags = read_cpu_flags()
    config, _ = running_config()
    if "aes" in flags and config.get("CRYPTO_AES_NI_INTEL") not in ("y", "m"):
        assert any(f["flag"] == "aes" for f in data["findings"])
    table = run_cli("kernel", "audit")
    assert table.returncode == 0, table.stderr
    assert "CONFIG_CRYPTO_AES_NI_INTEL" in table.stdout and "/proc/crypto" in table.stdout
    assert "[crypto]" in table.stdout or not data["findings"]


def test_unregistered_templates_explained_from_config() -> None:
    config, _ = running_config()
    report = audit(load_groups(), gather_sources())
    algos = {a.algorithm: a for a in report.algorithms}
    for name, symbol in (("xts(aes)", "CRYPTO_XTS"), ("gcm(aes)", "CRYPTO_GCM")):
        algo = algos[name]
        if algo.driver is not None:
            continue
        if config.get(symbol) in ("y", "m"):
            assert f"registered on first use (CONFIG_{symbol}={config.get(symbol)})" in algo.reason
            assert f"would wrap aes driver {algos['aes'].driver}" in algo.reason
        else:
            assert algo.reason.startswith(f"cannot be instantiated: template CONFIG_{symbol}")
