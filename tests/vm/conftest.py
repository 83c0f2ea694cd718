"""Real kernels for the vm tests: the two Debian packages .ci/system-deps downloads (never installed).

Missing packages are downloaded by .ci/vm-kernels (no root needed); the tests never skip. Every test session
unpacks them once into its own private cache, so no test touches the user's ~/.cache.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

VM_KERNELS_SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "vm-kernels"


@pytest.fixture(scope="session")
def kernel_dir() -> Path:
    """The directory of the two kernel packages; .ci/vm-kernels downloads them when they are missing."""
    done = subprocess.run(["bash", str(VM_KERNELS_SCRIPT)], capture_output=True, text=True, timeout=1800,
                          check=False)
    if done.returncode != 0:
        pytest.fail(f"{VM_KERNELS_SCRIPT} failed: {done.stderr.strip()[-500:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def _deb(kernel_dir: Path, flavour: str) -> Path:
    """``-amd64`` (generic) or ``-rt-amd64``: linux-image-<abi><flavour>_<version>_amd64.deb."""
    pattern = re.compile(r"linux-image-\d+\.\d+\.\d+-\d+" + re.escape(flavour) + "_")
    found = sorted(p for p in kernel_dir.glob("linux-image-*.deb") if pattern.match(p.name))
    if not found:
        pytest.fail(f"no linux-image-*{flavour} package in {kernel_dir} after {VM_KERNELS_SCRIPT}")
    return found[-1]


@pytest.fixture(scope="session")
def generic_deb(kernel_dir: Path) -> Path:
    return _deb(kernel_dir, "-amd64")


@pytest.fixture(scope="session")
def rt_deb(kernel_dir: Path) -> Path:
    return _deb(kernel_dir, "-rt-amd64")


@pytest.fixture(scope="session")
def vm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vm-cache")


@pytest.fixture(autouse=True)
def _private_vm_cache(vm_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_VM_CACHE", str(vm_cache))
