"""Hot-path groups as TOML data: the shipped groups, user extensions, and file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.kernel.audit import audit, gather_sources
from perflab.kernel.hotpath import load_group_file, load_groups, parse_groups

from .test_audit_debian import CONFIG_612, D612
from .test_audit_machine import run_cli


def test_builtin_groups_cover_the_issue() -> None:
    groups = {g.name: g for g in load_groups(cwd=Path("/nonexistent"))}
    assert list(groups) == ["crypto", "storage", "compression", "virtualization", "network"]
    symbols = {g: {s.name for s in groups[g].symbols} for g in groups}
    assert {"CRYPTO_AES_NI_INTEL", "CRYPTO_GHASH_CLMUL_NI_INTEL", "CRYPTO_POLYVAL_CLMUL_NI",
            "CRYPTO_SHA256_SSSE3", "CRYPTO_LIB_SHA256_ARCH", "CRYPTO_LIB_SHA1_ARCH", "CRYPTO_LIB_SHA512_ARCH",
            "CRYPTO_CRC32C_INTEL", "CRC32_ARCH"} <= symbols["crypto"]
    assert {"NVME_CORE", "NVME_AUTH", "NVME_KEYRING", "BLK_DEV_DM", "BLK_DEV_LOOP"} <= symbols["storage"]
    assert {"LZ4_COMPRESS", "CRYPTO_LZ4HC", "CRYPTO_842", "CRYPTO_ZSTD", "ZRAM"} <= symbols["compression"]
    assert {"KVM", "KVM_AMD", "KVM_INTEL", "IRQ_BYPASS_MANAGER"} <= symbols["virtualization"]
    assert {"TCP_CONG_BBR", "NET_SCH_FQ"} <= symbols["network"]
    flags = {f.flag for f in groups["crypto"].features}
    assert {"aes", "vaes", "pclmulqdq", "sha_ni", "sse4_2"} <= flags


GOOD = """[group]
name = "crypto"
title = "Crypto plus my HSM"

[[symbol]]
name = "CRYPTO_DEV_CCP_DD"
modules = ["ccp"]
what = "AMD crypto coprocessor"

[[symbol]]
name = "CONFIG_CRYPTO_AES_NI_INTEL"
modules = ["aesni-intel"]
what = "replaced entry"
"""


def test_user_group_extends_and_replaces(tmp_path: Path) -> None:
    folder = tmp_path / ".perflab" / "kernel-groups"
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text(GOOD)
    extra = tmp_path / "extra.toml"
    extra.write_text('[group]\nname = "tracing"\n\n[[symbol]]\nname = "FTRACE"\n')
    groups = {g.name: g for g in load_groups([extra], cwd=tmp_path)}
    crypto = {s.name: s for s in groups["crypto"].symbols}
    assert crypto["CRYPTO_DEV_CCP_DD"].modules == ["ccp"]
    assert crypto["CRYPTO_AES_NI_INTEL"].what == "replaced entry"
    assert crypto["CRYPTO_AES_NI_INTEL"].modules == ["aesni_intel"]
    assert "CRYPTO_LIB_SHA256_ARCH" in crypto  # the built-in entries stay
    assert groups["crypto"].title == "Crypto plus my HSM"
    report = audit(list(groups.values()), gather_sources(CONFIG_612, D612))
    states = {s.symbol: s for s in report.symbols}
    assert states["CRYPTO_DEV_CCP_DD"].state == "module"
    assert states["CRYPTO_DEV_CCP_DD"].detail == "in modules.order (ccp)"
    assert states["FTRACE"].group == "tracing" and states["FTRACE"].state == "builtin"


@pytest.mark.parametrize(("text", "message"), [
    ('[group]\nname = "x"\n\n[[symbol]]\nname = "A"\nmodules = ["a"\n',
     r"^g.toml:6: Unclosed array \(at the end of the file\)"),
    ('[group]\nname = = "x"\n', r"^g.toml:2: Invalid value \(column 8\)"),
    ('[group]\nname = "x"\n\n[[symbol]]\nname = "A"\n\n[[symbol]]\nname = "B"\nmodlues = ["b"]\n',
     r"^g.toml:9: unknown key 'modlues' in \[\[symbol\]\] #2"),
    ('[group]\nname = "x"\n\n[[symbol]]\nname = "A"\n\n[[symbol]]\nwhat = "no name"\n',
     r"^g.toml:7: \[\[symbol\]\] #2 lacks 'name'"),
    ('[group]\nname = "x"\n\n[[symbol]]\nname = "A"\nmodules = "a"\n',
     r"^g.toml:6: \[\[symbol\]\] #1 modules must be a list of strings"),
    ('[group]\nname = "x"\n\n[[feature]]\nflag = "aes"\nsymbols = ["AES NI"]\n',
     r"^g.toml:6: invalid kernel symbol name 'AES NI'"),
    ('[group]\nname = "x"\n[symbols]\nname = "A"\n', r"^g.toml:3: unknown table or key 'symbols'"),
    ('[[symbol]]\nname = "A"\n', r"^g.toml:1: missing \[group\]"),
    ('[group]\nname = "x"\n\n[[feature]]\nflag = "aes"\nsymbols = []\n', r"^g.toml:6: .*symbols is empty"),
])
def test_malformed_groups_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(PerflabError, match=message):
        parse_groups(text, "g.toml")


def test_unreadable_group_file(tmp_path: Path) -> None:
    with pytest.raises(PerflabError, match="cannot read"):
        load_group_file(tmp_path / "missing.toml")


def test_cli_reports_bad_groups_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[group]\nname = "x"\n\n[[symbol]]\nnmae = "A"\n')
    result = run_cli("kernel", "audit", "--config", str(CONFIG_612), "--groups", str(bad))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"perflab: error: {bad}:5: unknown key 'nmae' in [[symbol]] #1 "
                                     "(known: modules, moved_in, moved_to, name, since, what)")
    assert result.stdout == ""


def test_lib_driver_kind_follows_its_config_symbol() -> None:
    """The machine test only sees this host's sha256 driver; here every branch of the rule is checked."""
    from perflab.kernel.audit import classify_driver
    from perflab.kernel.config import KernelConfig

    spec = next(a for g in load_groups(cwd=Path("/nonexistent")) for a in g.algorithms if a.name == "sha256")
    assert spec.library_symbol == "CRYPTO_LIB_SHA256_ARCH" and "sha256-lib" in spec.library
    arch_on = KernelConfig.loads("CONFIG_CRYPTO_LIB_SHA256_ARCH=y\n")
    arch_off = KernelConfig.loads("# CONFIG_CRYPTO_LIB_SHA256_ARCH is not set\n")
    absent = KernelConfig.loads("CONFIG_CRYPTO_SHA256=y\n")
    assert classify_driver("sha256-lib", spec, arch_on)[0] == "accelerated"
    kind, reason = classify_driver("sha256-lib", spec, arch_off)
    assert kind == "generic" and "CONFIG_CRYPTO_LIB_SHA256_ARCH =n" in reason
    kind, reason = classify_driver("sha256-lib", spec, absent)
    assert kind == "generic" and "absent" in reason
    assert classify_driver("sha256-ni", spec, arch_off)[0] == "accelerated"
    assert classify_driver("sha256-generic", spec, arch_on)[0] == "generic"
    assert classify_driver("sha256-mystery", spec, arch_on)[0] == "unclassified"


def _seven_x_config(tmp_path: Path) -> Path:
    """Debian's 6.12 config turned into what a 7.x x86_64 config holds for the crypto hot path: the
    SHA*_SSSE3, CRC32C_INTEL, GHASH and POLYVAL glue gone, lib/crypto and lib/crc arch symbols =y."""
    from perflab.kernel.config import KernelConfig

    config = KernelConfig.load(CONFIG_612)
    for gone in ("CRYPTO_GHASH_CLMUL_NI_INTEL", "CRYPTO_POLYVAL_CLMUL_NI", "CRYPTO_SHA1_SSSE3",
                 "CRYPTO_SHA256_SSSE3", "CRYPTO_SHA512_SSSE3", "CRYPTO_CRC32C_INTEL"):
        config.remove(gone)
    for new in ("CRYPTO_LIB_GF128HASH_ARCH", "CRYPTO_LIB_SHA1_ARCH", "CRYPTO_LIB_SHA256_ARCH",
                "CRYPTO_LIB_SHA512_ARCH", "CRC32_ARCH"):
        config.set(new, "y")
    path = tmp_path / "config-7.0.0"
    path.write_text(config.dumps().replace("# Linux/x86 6.12.117 Kernel Configuration",
                                           "# Linux/x86 7.0.0 Kernel Configuration"))
    return path


def test_newer_kernel_symbols_are_moved_not_absent(tmp_path: Path) -> None:
    """Observed on 7.x: GHASH/POLYVAL called "absent", and with --cpuinfo a CPU feature "without a driver"
    that lib/crypto (CRYPTO_LIB_GF128HASH_ARCH) serves."""
    from perflab.kernel.audit import MOVED

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse4_2 pclmulqdq aes avx2 sha_ni\n")
    report = audit(load_groups(cwd=Path("/nonexistent")),
                   gather_sources(_seven_x_config(tmp_path), cpuinfo=cpuinfo))
    assert report.release == "7.0.0"
    st = {s.symbol: s for s in report.symbols}
    for old, new in (("CRYPTO_GHASH_CLMUL_NI_INTEL", "CRYPTO_LIB_GF128HASH_ARCH"),
                     ("CRYPTO_POLYVAL_CLMUL_NI", "CRYPTO_LIB_GF128HASH_ARCH"),  # via LIB_POLYVAL_ARCH (6.19)
                     ("CRYPTO_LIB_POLYVAL_ARCH", "CRYPTO_LIB_GF128HASH_ARCH"),
                     ("CRYPTO_SHA256_SSSE3", "CRYPTO_LIB_SHA256_ARCH"),
                     ("CRYPTO_CRC32C_INTEL", "CRC32_ARCH")):
        assert st[old].state == MOVED, old
        assert st[old].detail.startswith(f"moved to CONFIG_{new} around "), st[old].detail
        assert st[old].detail.endswith(f"(CONFIG_{new}=y here)")
    flags_without_driver = {f.flag for f in report.findings if f.kind in ("cpu-feature-unused", "no-symbol")}
    assert not flags_without_driver & {"pclmulqdq", "sha_ni", "avx2", "sse4_2"}, report.findings
    # the same CPU on Debian 6.12 with the GHASH glue off is a real finding
    config = CONFIG_612.read_text().replace("CONFIG_CRYPTO_GHASH_CLMUL_NI_INTEL=m",
                                            "# CONFIG_CRYPTO_GHASH_CLMUL_NI_INTEL is not set")
    off = tmp_path / "config-6.12-no-ghash"
    off.write_text(config)
    report = audit(load_groups(cwd=Path("/nonexistent")), gather_sources(off, cpuinfo=cpuinfo))
    assert any(f.flag == "pclmulqdq" and "GHASH_CLMUL_NI_INTEL is not set" in f.message
               for f in report.findings)


def test_lib_driver_follows_the_renamed_symbol() -> None:
    """polyval-lib's speed hangs on CRYPTO_LIB_POLYVAL_ARCH (6.19), renamed CRYPTO_LIB_GF128HASH_ARCH."""
    from perflab.kernel.audit import classify_driver
    from perflab.kernel.config import KernelConfig
    from perflab.kernel.hotpath import Lineage

    groups = load_groups(cwd=Path("/nonexistent"))
    spec = next(a for g in groups for a in g.algorithms if a.name == "polyval")
    renamed = KernelConfig.loads("CONFIG_CRYPTO_LIB_GF128HASH_ARCH=y\n")
    kind, reason = classify_driver("polyval-lib", spec, renamed, Lineage.of(groups))
    assert kind == "accelerated" and "CONFIG_CRYPTO_LIB_GF128HASH_ARCH=y" in reason
