"""`perflab kernel audit --config --modules-dir` on Debian's shipped 6.1 and 6.12 files.

Expected states were checked by hand against the files:
- 6.12 ``CONFIG_CRYPTO_AES_NI_INTEL=m`` and modules.order lists kernel/arch/x86/crypto/aesni-intel.ko;
- 6.12 ``CONFIG_ZSTD_COMPRESS=y`` and modules.builtin lists kernel/lib/zstd/zstd_compress.ko;
- ``CONFIG_NVME_KEYRING=m`` in 6.12 (nvme-keyring.ko in modules.order), no such line at all in 6.1;
- ``# CONFIG_CRYPTO_POLYVAL_CLMUL_NI is not set`` in both; CRYPTO_LIB_SHA256_ARCH in neither (6.17+).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from perflab.kernel.audit import ABSENT, BUILTIN, MODULE, NOT_SET, NOT_YET, audit, gather_sources
from perflab.kernel.hotpath import load_groups

from .test_audit_machine import run_cli

DATA = Path(__file__).resolve().parent.parent / "data" / "kernel"
D612 = DATA / "audit-debian-6.12"
D61 = DATA / "audit-debian-6.1"
CONFIG_612 = D612 / "config-6.12.117+deb12-amd64"
CONFIG_61 = D61 / "config-6.1.0-56-amd64"


def _states(config: Path, modules: Path | None, **kw: Path) -> dict[str, object]:
    report = audit(load_groups(), gather_sources(config, modules, **kw))
    return {st.symbol: st for st in report.symbols} | {"__report__": report}


def test_debian_612_states() -> None:
    st = _states(CONFIG_612, D612)
    aes = st["CRYPTO_AES_NI_INTEL"]
    assert (aes.state, aes.value, aes.detail) == (MODULE, "m", "in modules.order (aesni_intel)")
    zstd = st["ZSTD_COMPRESS"]
    assert (zstd.state, zstd.detail) == (BUILTIN, "in modules.builtin (zstd_compress)")
    keyring = st["NVME_KEYRING"]
    assert (keyring.state, keyring.detail) == (MODULE, "in modules.order (nvme_keyring)")
    assert st["CRYPTO_POLYVAL_CLMUL_NI"].state == NOT_SET
    sha_lib = st["CRYPTO_LIB_SHA256_ARCH"]  # 6.17's successor of CRYPTO_SHA256_SSSE3, not in 6.12 yet
    assert (sha_lib.state, sha_lib.value) == (NOT_YET, None)
    assert sha_lib.detail == ("newer symbol: replaced CONFIG_CRYPTO_SHA256_SSSE3 around 6.17 "
                              "(CONFIG_CRYPTO_SHA256_SSSE3=m here)")
    assert st["KVM_AMD"].state == MODULE and st["DEFAULT_TCP_CONG"].value == "cubic"
    report = st["__report__"]
    assert report.modules_enabled and not report.running
    # Without /proc/crypto and cpuinfo of that machine nothing is claimed about drivers or CPU flags.
    assert report.algorithms == [] and not report.cpu_flags_checked
    assert report.findings == []


def test_debian_61_symbol_absent_in_that_version() -> None:
    st = _states(CONFIG_61, D61)
    assert st["NVME_KEYRING"].state == ABSENT and st["NVME_KEYRING"].value is None
    assert st["NVME_KEYRING"].detail == "not in this config; new in 6.7"
    assert st["NVME_AUTH"].state == NOT_SET
    assert st["CRYPTO_SHA256_SSSE3"].state == MODULE
    assert st["CRYPTO_SHA256_SSSE3"].detail == "in modules.order (sha256_ssse3)"


def test_module_missing_from_modules_order_is_a_finding(tmp_path: Path) -> None:
    for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        shutil.copy(D612 / name, tmp_path / name)
    order = tmp_path / "modules.order"
    kept = [line for line in order.read_text().splitlines() if not line.endswith("/aesni-intel.ko")]
    order.write_text("\n".join(kept) + "\n")
    st = _states(CONFIG_612, tmp_path)
    assert st["CRYPTO_AES_NI_INTEL"].detail == "not in modules.order (expected aesni_intel)"
    findings = st["__report__"].findings
    assert [f.kind for f in findings] == ["module-missing"]
    assert "CONFIG_CRYPTO_AES_NI_INTEL=m but aesni_intel.ko is not in modules.order" in findings[0].message


def test_other_machine_with_this_cpu() -> None:
    """Debian 6.12 on this CPU: AES-NI is =m, so no aes finding; POLYVAL is not set, so pclmulqdq is."""
    from perflab.kernel.cpu import read_cpu_flags

    flags = read_cpu_flags()
    report = audit(load_groups(), gather_sources(CONFIG_612, D612, cpuinfo=Path("/proc/cpuinfo")))
    assert report.cpu_flags_checked
    assert not [f for f in report.findings if f.flag == "aes"]
    polyval = [f for f in report.findings if "CRYPTO_POLYVAL_CLMUL_NI" in f.symbols]
    assert bool(polyval) == ("pclmulqdq" in flags)


def test_cli_json_debian_61() -> None:
    result = run_cli("kernel", "audit", "--config", str(CONFIG_61), "--modules-dir", str(D61), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    by_symbol = {s["symbol"]: s for s in data["symbols"]}
    assert by_symbol["NVME_KEYRING"]["state"] == "absent"
    assert by_symbol["CRYPTO_AES_NI_INTEL"]["state"] == "module"
    assert by_symbol["BLK_DEV_DM"]["detail"] == "in modules.order (dm_mod)"


def test_cli_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "config"
    bad.write_text("CONFIG_A=y\nCONFIG_B=bogus value\n")
    result = run_cli("kernel", "audit", "--config", str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith(f"perflab: error: {bad}:2:")
    missing = run_cli("kernel", "audit", "--config", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_copied_proc_crypto_judged_by_that_config(tmp_path: Path) -> None:
    """This machine's /proc/crypto read as a copied file next to Debian 6.12's config: a ``*-lib`` hash
    driver counts as accelerated only with the config's CRYPTO_LIB_*_ARCH=y, which 6.12 does not have."""
    copy = tmp_path / "crypto"
    copy.write_text(Path("/proc/crypto").read_text())
    report = audit(load_groups(), gather_sources(CONFIG_612, D612, proc_crypto=copy))
    assert report.algorithms and not report.running
    libs = [a for a in report.algorithms if a.driver is not None and a.driver.endswith("-lib")]
    assert bool(libs) == any(f"driver       : {a.algorithm}-lib\n" in copy.read_text()
                             for a in report.algorithms)
    for algo in libs:
        assert algo.kind == "generic"
        assert "absent: generic C code" in algo.reason


def test_gzipped_config_and_boot_fallback(tmp_path: Path) -> None:
    import gzip

    from perflab.errors import PerflabError
    from perflab.kernel.config import running_config

    packed = tmp_path / "config.gz"
    packed.write_bytes(gzip.compress(CONFIG_61.read_bytes()))
    st = _states(packed, D61)
    assert st["NVME_KEYRING"].state == ABSENT and st["CRYPTO_AES_NI_INTEL"].state == MODULE
    # No /proc/config.gz: /boot/config-<release> is used; neither: one clear error naming both.
    boot = tmp_path / "boot"
    boot.mkdir()
    shutil.copy(CONFIG_61, boot / "config-6.1.0-56-amd64")
    config, label = running_config(tmp_path / "no-config.gz", boot, release="6.1.0-56-amd64")
    assert label == str(boot / "config-6.1.0-56-amd64") and config.get("KVM_AMD") == "m"
    with pytest.raises(PerflabError, match=r"no-config\.gz .* nor .*config-9\.9 exists"):
        running_config(tmp_path / "no-config.gz", boot, release="9.9")
    truncated = tmp_path / "bad.gz"
    truncated.write_bytes(packed.read_bytes()[:100])
    with pytest.raises(PerflabError, match=f"^{re.escape(str(truncated))}: cannot read"):
        _states(truncated, None)


def test_release_comes_from_the_config_header() -> None:
    """Observed: `release` was null in `kernel audit --json` for another machine's files."""
    assert _states(CONFIG_612, D612)["__report__"].release == "6.12.117"
    assert _states(CONFIG_61, None)["__report__"].release == "6.1.192"
    proc = run_cli("kernel", "audit", "--config", str(CONFIG_612), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["release"] == "6.12.117"
