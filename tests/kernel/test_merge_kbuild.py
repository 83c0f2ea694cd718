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
