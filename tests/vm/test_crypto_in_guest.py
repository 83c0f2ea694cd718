"""`perflab crypto bench` inside a Debian-kernel guest: AF_ALG (absent on this host) measured for real.

Debian builds CONFIG_CRYPTO_USER_API_* as modules; `vm run --module` loads af_alg, algif_hash,
algif_skcipher (and aesni_intel) from the package's own tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
TCG = "emulated (TCG): not hardware performance"


def test_af_alg_path_runs_for_real_in_the_guest_and_is_labelled(generic_deb: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "perflab", "vm", "run", "--kernel", str(generic_deb), "--accel", "tcg",
         "--timeout", "1500", "--module", "af_alg,algif_hash,algif_skcipher,aesni_intel", "--",
         sys.executable, "-m", "perflab", "crypto", "bench", "--algorithms", "sha256,cbc(aes)",
         "--sizes", "4K", "--samples", "3", "--json", "--db", "sqlite:////tmp/perflab-crypto.db"],
        capture_output=True, text=True, timeout=1600)  # TCG on a loaded 2-core host: minutes
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    kernel = [r for r in results if r["source"] == "kernel (AF_ALG)"]
    assert {r["algorithm"] for r in kernel if r["status"] == "ok"} == {"sha256", "cbc(aes)"}, kernel
    for r in kernel:
        assert r["label"] == TCG
        if r["status"] == "ok":
            (size,) = r["sizes"]
            assert size["size"] == 4096 and len(size["bytes_per_s"]) == 3
            assert size["ci_low"] <= size["median"] <= size["ci_high"]
    # each figure names the driver AF_ALG bound; with aesni_intel loaded (TCG emulates AES-NI) the
    # kernel picks it over aes-generic for cbc(aes), so the module really was loaded from the package
    drivers = {r["algorithm"]: r["implementation"] for r in kernel if r["status"] == "ok"}
    assert drivers["cbc(aes)"] == "cbc-aes-aesni", drivers
    assert drivers["sha256"], drivers
    assert TCG in done.stderr
