"""Kernel resolution on real Debian packages: unpacked privately, vmlinux extracted, modules ordered."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.vm import kernels
from perflab.vm.initramfs import base_modules, build_archive
from perflab.vm.modules import ModuleIndex, module_depends


def test_deb_resolves_to_a_pvh_vmlinux_and_its_modules(generic_deb: Path, vm_cache: Path) -> None:
    kernel = kernels.resolve(str(generic_deb))
    release = generic_deb.name.split("_", 1)[0].removeprefix("linux-image-")
    assert kernel.release == release
    assert kernel.vmlinux is not None and kernel.vmlinux.is_relative_to(vm_cache)
    data = kernel.vmlinux.read_bytes()
    assert data.startswith(b"\x7fELF") and kernels.has_pvh_note(data)
    assert f"Linux version {release}".encode() in data
    assert kernel.modules is not None and (kernel.modules / "kernel").is_dir()
    # the bzImage itself names the same release (boot header kernel_version string)
    assert kernels.resolve(str(kernel.bzimage)).release == release
    assert kernels.resolve(str(kernel.vmlinux)).release == release


def test_module_order_puts_dependencies_first(generic_deb: Path) -> None:
    kernel = kernels.resolve(str(generic_deb))
    index = ModuleIndex(kernel.modules)
    order = [p.name for p in index.load_order([*base_modules("microvm"), "algif_hash"])]
    for before, after in [("virtio_ring.ko", "virtio.ko"), ("virtio.ko", "virtio_mmio.ko"),
                          ("9pnet.ko", "9pnet_virtio.ko"), ("9pnet.ko", "9p.ko"),
                          ("af_alg.ko", "algif_hash.ko")]:
        assert order.index(before) < order.index(after)
    assert len(order) == len(set(order))
    assert module_depends(index.paths["algif_hash"]) == ["af_alg"]
    with pytest.raises(PerflabError, match="no module no_such_module"):
        index.load_order(["no_such_module"])


def test_bad_kernel_inputs_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(PerflabError, match="not a kernel file, a .deb, or a release"):
        kernels.resolve(str(tmp_path / "missing"))
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a kernel" * 100)
    with pytest.raises(PerflabError, match="neither an ELF vmlinux nor a bzImage"):
        kernels.resolve(str(junk))
    with pytest.raises(PerflabError, match="no such kernel package"):
        kernels.resolve(str(tmp_path / "x.deb"))


def test_cpio_newc_records_are_aligned_and_terminated() -> None:
    archive = build_archive({"init": (0o100755, b"#!/bin/sh\n"), "a/b": (0o100644, b"xyz")}, ["a"])
    assert archive.startswith(b"070701")
    assert archive.count(b"070701") == 4  # a, init, a/b, trailer
    assert archive.rstrip(b"\0").endswith(b"TRAILER!!!")
    assert len(archive) % 4 == 0
