"""The real Debian linux-source-6.12 tree (Kconfig subset from .ci/system-deps), shared by the kernel tests.

The tree is never skipped: without it these tests fail and say how to get it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DEFAULT_TREE = "/var/cache/perflab-ci/linux-6.12"


@pytest.fixture(scope="session")
def srctree() -> Path:
    path = Path(os.environ.get("PERFLAB_TEST_SRCTREE", DEFAULT_TREE))
    if not (path / "Kconfig").is_file() or not (path / "scripts" / "kconfig").is_dir():
        pytest.fail(f"kernel source tree {path} is missing: run .ci/system-deps as root (installs Debian's "
                    "linux-source-6.12 and extracts its Kconfig subset) or set PERFLAB_TEST_SRCTREE")
    return path


@pytest.fixture(scope="session")
def kconfig_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One kconfiglib parse cache for the session: the tree is parsed once, not once per test."""
    return tmp_path_factory.mktemp("kconfig-cache")
