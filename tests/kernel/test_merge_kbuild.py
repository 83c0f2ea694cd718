"""Module → symbol map from Makefiles/Kbuild, on a small hand-written tree (the real tree is used in
test_merge_srctree.py)."""

from __future__ import annotations

from pathlib import Path

from perflab.kernel.kbuild import build_module_map
from perflab.kernel.modules import module_name


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_obj_lines_composites_gates_and_continuations(tmp_path: Path) -> None:
    _write(tmp_path, "Makefile", "obj-y += drivers/\n")
    _write(tmp_path, "drivers/Makefile",
           "obj-$(CONFIG_NET_DRIVERS) += net/  # a gate\nobj-$(CONFIG_OTHER) += net/\n")
    _write(tmp_path, "drivers/net/Makefile",
           "# comment obj-$(CONFIG_NOT_THIS) += nope.o\n"
           "obj-$(CONFIG_FOO) += foo.o \\\n\tbar-baz.o\n"
           "foo-y := a.o b.o\n"
           "foo-$(CONFIG_FOO_FEATURE) += c.o\n"
           "obj-m += always_mod.o\n"
           "obj-$(CONFIG_FOO) += $(generated-objs)\n")
    _write(tmp_path, "drivers/net/Kbuild", "obj-$(CONFIG_KB) += from_kbuild.o\n")
    _write(tmp_path, "arch/x86/Makefile", "obj-$(CONFIG_X86_THING) += xmod.o\n")
    _write(tmp_path, "arch/arm64/Makefile", "obj-$(CONFIG_ARM_THING) += xmod.o\n")
    _write(tmp_path, "Documentation/Makefile", "obj-$(CONFIG_DOC) += doc.o\n")
    modules = build_module_map(tmp_path, "x86")
    foo = modules.lookup("foo")
    assert foo is not None and foo.symbols == {"FOO"} and foo.features == {"FOO_FEATURE"}
    assert foo.gates == [frozenset({"NET_DRIVERS", "OTHER"})]  # either symbol builds the directory
    assert modules.lookup("bar-baz") is modules.lookup("bar_baz") is not None
    assert modules.lookup("bar_baz").symbols == {"FOO"}  # the continuation line was joined
    assert modules.lookup("always_mod").always
    assert modules.lookup("from_kbuild").symbols == {"KB"}
    assert modules.lookup("xmod").symbols == {"X86_THING"}  # other architectures are not read
    assert modules.lookup("a") is None and modules.lookup("c") is None  # parts are not modules
    assert modules.lookup("nope") is None and modules.lookup("doc") is None
    assert module_name(" snd-hda-intel ") == "snd_hda_intel"


def test_brace_form_of_config_references(tmp_path: Path) -> None:
    """make expands ${CONFIG_X} like $(CONFIG_X); streamline_config.pl accepts both."""
    _write(tmp_path, "drivers/thunderbolt/Makefile",
           "obj-${CONFIG_USB4} := thunderbolt.o\n"
           "thunderbolt-objs := nhi.o ctl.o\n"
           "thunderbolt-${CONFIG_ACPI} += acpi.o\n"
           "obj-${CONFIG_USB4_DMA_TEST} += thunderbolt_dma_test.o\n")
    _write(tmp_path, "drivers/Makefile", "obj-${CONFIG_GATE} += thunderbolt/\n")
    modules = build_module_map(tmp_path, "x86")
    tb = modules.lookup("thunderbolt")
    assert tb is not None and tb.symbols == {"USB4"} and tb.features == {"ACPI"}
    assert tb.gates == [frozenset({"GATE"})]
    assert modules.lookup("thunderbolt_dma_test").symbols == {"USB4_DMA_TEST"}


def test_real_tree_maps_thunderbolt_to_usb4(srctree: Path) -> None:
    """Observed on Debian's 6.12 tree: thunderbolt was 'built by no Makefile' and USB4 was pruned."""
    modules = build_module_map(srctree, "x86")
    assert modules.lookup("thunderbolt").symbols == {"USB4"}
    assert modules.lookup("mtk_t7xx").symbols == {"MTK_T7XX"}  # obj-${CONFIG_MTK_T7XX} := ...
    assert modules.lookup("aesni_intel").symbols == {"CRYPTO_AES_NI_INTEL"}
