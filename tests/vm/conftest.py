"""Real kernels for the vm tests: the two Debian packages .ci/system-deps downloads (never installed).

Without them the tests fail and say how to get them (they are never skipped). Every test session
unpacks them once into its own private cache, so no test touches the user's ~/.cache.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

KERNEL_DIR = Path(os.environ.get("PERFLAB_CI_CACHE", "/var/cache/perflab-ci")) / "kernels"


def _deb(flavour: str) -> Path:
    """``-amd64`` (generic) or ``-rt-amd64``: linux-image-<abi><flavour>_<version>_amd64.deb."""
    pattern = re.compile(r"linux-image-\d+\.\d+\.\d+-\d+" + re.escape(flavour) + "_")
    found = sorted(p for p in KERNEL_DIR.glob("linux-image-*.deb") if pattern.match(p.name))
    if not found:
        pytest.fail(f"no linux-image-*{flavour} package in {KERNEL_DIR}: run .ci/system-deps as root "
                    "(apt-get download of Debian's current kernels) or set PERFLAB_CI_CACHE")
    return found[-1]


@pytest.fixture(scope="session")
def generic_deb() -> Path:
    return _deb("-amd64")


@pytest.fixture(scope="session")
def rt_deb() -> Path:
    return _deb("-rt-amd64")


@pytest.fixture(scope="session")
def vm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vm-cache")


@pytest.fixture(autouse=True)
def _private_vm_cache(vm_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_VM_CACHE", str(vm_cache))
