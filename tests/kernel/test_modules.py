"""Module lists of Debian's 6.1 and 6.12 builds, /proc/modules, and their error messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.kernel.modules import (
    ModuleTree,
    module_name,
    parse_modinfo,
    parse_proc_modules,
    read_proc_modules,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "kernel"
D612 = DATA / "audit-debian-6.12"
D61 = DATA / "audit-debian-6.1"


def test_module_name_normalised_like_modprobe() -> None:
    assert module_name("kernel/arch/x86/crypto/aesni-intel.ko") == "aesni_intel"
    assert module_name("kernel/drivers/md/dm-mod.ko.zst") == "dm_mod"


def test_debian_612_lists() -> None:
    tree = ModuleTree.load(D612)
    order_lines = [line for line in (D612 / "modules.order").read_text().splitlines() if line.strip()]
    assert len(tree.order) == len({module_name(line) for line in order_lines})
    assert "kernel/arch/x86/crypto/aesni-intel.ko" in order_lines and "aesni_intel" in tree.order
    assert "nvme_keyring" in tree.order  # kernel/drivers/nvme/common/nvme-keyring.ko
    assert "zstd_compress" in tree.builtin and "zstd_compress" not in tree.order
    assert tree.modinfo["sha256_generic"]["file"] == ["crypto/sha256_generic"]
    assert "sha256" in tree.modinfo["sha256_generic"]["alias"]
    assert tree.missing == []


def test_debian_61_lacks_nvme_keyring() -> None:
    tree = ModuleTree.load(D61)
    assert "nvme_core" in tree.order
    assert "nvme_keyring" not in tree.order and "nvme_keyring" not in tree.builtin


def test_malformed_modules_order_names_line(tmp_path: Path) -> None:
    for name in ("modules.order", "modules.builtin"):
        shutil.copy(D612 / name, tmp_path / name)
    with (tmp_path / "modules.order").open("a") as handle:
        handle.write("kernel/foo/bar.o\n")
    lines = len((tmp_path / "modules.order").read_text().splitlines())
    with pytest.raises(PerflabError, match=rf"modules.order:{lines}: expected a path ending in .ko"):
        ModuleTree.load(tmp_path)


def test_missing_lists_reported(tmp_path: Path) -> None:
    with pytest.raises(PerflabError, match="none of modules.order"):
        ModuleTree.load(tmp_path)
    shutil.copy(D612 / "modules.order", tmp_path / "modules.order")
    tree = ModuleTree.load(tmp_path)
    assert tree.missing == ["modules.builtin", "modules.builtin.modinfo"]
    with pytest.raises(PerflabError, match="not a directory"):
        ModuleTree.load(tmp_path / "modules.order")


def test_malformed_modinfo() -> None:
    assert parse_modinfo(b"a.license=GPL\0a.alias=x\0b-c.file=y\0", "m") == {
        "a": {"license": ["GPL"], "alias": ["x"]}, "b_c": {"file": ["y"]}}
    with pytest.raises(PerflabError, match=r"^m: byte 14: expected 'module.key=value'"):
        parse_modinfo(b"a.license=GPL\0garbage\0", "m")


def test_proc_modules_parsing() -> None:
    """This machine has CONFIG_MODULES off, so /proc/modules does not exist: the parser is checked on
    text in the kernel's format (copied from a Debian machine) instead of the real file."""
    text = ("kvm_amd 155648 0 - Live 0x0000000000000000\n"
            "kvm 1142784 1 kvm_amd, Live 0x0000000000000000\n"
            "irqbypass 16384 1 kvm, Live 0x0000000000000000\n")
    loaded = parse_proc_modules(text)
    assert set(loaded) == {"kvm_amd", "kvm", "irqbypass"}
    assert loaded["kvm"].used_by == ("kvm_amd",) and loaded["kvm"].refcount == 1
    with pytest.raises(PerflabError, match=r"^p:2: expected at least 5 fields"):
        parse_proc_modules("kvm 1 0 - Live 0x0\nbroken 12\n", "p")


def test_read_proc_modules_matches_config_modules() -> None:
    """/proc/modules exists exactly when the running kernel has CONFIG_MODULES=y."""
    from perflab.kernel.config import running_config

    config, _ = running_config()
    loaded = read_proc_modules()
    assert (loaded is not None) == (config.get("MODULES") == "y")
