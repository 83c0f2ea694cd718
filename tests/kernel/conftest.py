"""The real Debian linux-source-6.12 Kconfig tree, shared by the kernel tests and obtained by them when
missing.

`.ci/kernel-tree` (also run by .ci/system-deps) extracts its Kconfig/Makefile subset from the installed
package, or installs it (root), or downloads it from the Debian archive (no root). The tests that need the
tree are never skipped: when it cannot be obtained they fail and say why.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KERNEL_TREE_SCRIPT = REPO / ".ci" / "kernel-tree"


def _usable(path: Path) -> bool:
    return (path / "Kconfig").is_file() and (path / "scripts" / "kconfig").is_dir()


@pytest.fixture(scope="session")
def srctree() -> Path:
    """Path of the linux-source-6.12 Kconfig subset (PERFLAB_TEST_SRCTREE overrides)."""
    override = os.environ.get("PERFLAB_TEST_SRCTREE")
    if override:
        if not _usable(Path(override)):
            pytest.fail(f"PERFLAB_TEST_SRCTREE={override}: not a kernel tree (no Kconfig or scripts/kconfig)")
        return Path(override)
    proc = subprocess.run(["bash", str(KERNEL_TREE_SCRIPT)], capture_output=True, text=True, timeout=1800)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines or not _usable(Path(lines[-1])):
        pytest.fail(f"could not obtain the linux-source-6.12 tree with {KERNEL_TREE_SCRIPT} "
                    f"(exit {proc.returncode}): {proc.stderr.strip()[-800:]}")
    return Path(lines[-1])


@pytest.fixture(scope="session")
def kconfig_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One kconfiglib parse cache for the session: the tree is parsed once, not once per test."""
    return tmp_path_factory.mktemp("kconfig-cache")
