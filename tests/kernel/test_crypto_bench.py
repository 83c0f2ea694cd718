"""`perflab crypto bench`: AF_ALG on this machine, labelled userspace figures, option errors.

The AF_ALG success path (bind, setkey, accept, sendmsg with ALG_SET_OP/IV, recv) cannot run on this
machine: its kernel has CONFIG_CRYPTO_USER_API_* unset, so socket(AF_ALG, SOCK_SEQPACKET) fails with
EAFNOSUPPORT. The tests check what happens here (``unavailable`` with that reason, the active driver
and the enabling config, never a substitute figure); on a kernel with AF_ALG the same tests check
real per-driver figures instead.
"""

from __future__ import annotations

import errno
import json
import math
import socket

import pytest

from perflab.errors import PerflabError
from perflab.kernel import af_alg
from perflab.kernel.config import running_config
from perflab.kernel.crypto_bench import (
    BenchSettings,
    kernel_results,
    next_batch,
    parse_size,
    run_bench,
    sample_target_s,
)
from perflab.kernel.proc_crypto import active_driver, read_proc_crypto

from .test_audit_machine import run_cli


def _af_alg_errno() -> int | None:
    """Independent probe with the raw socket module."""
    try:
        socket.socket(socket.AF_ALG, socket.SOCK_SEQPACKET, 0).close()
    except OSError as error:
        return error.errno
    return None


def test_open_operation_reports_the_socket_error() -> None:
    code = _af_alg_errno()
    if code is None:
        with af_alg.open_operation("sha256") as op:
            import hashlib
            assert op.run(b"abc") == hashlib.sha256(b"abc").digest()
        return
    with pytest.raises(af_alg.AfAlgError) as caught:
        af_alg.open_operation("xts(aes)", "xts-aes-vaes-avx2")
    assert caught.value.step == "socket(AF_ALG, SOCK_SEQPACKET)"
    assert caught.value.errno == code
    assert af_alg.probe() is not None and af_alg.probe().errno == code  # type: ignore[union-attr]


def test_kernel_bench_here_is_unavailable_with_reason_driver_and_config() -> None:
    code = _af_alg_errno()
    settings = BenchSettings(algorithms=["sha256", "xts(aes)", "gcm(aes)", "crc32c"], sizes=[16, 4096],
                             samples=5)
    results = kernel_results(settings)
    if code is not None:
        drivers = read_proc_crypto()
        config, _ = running_config()
        assert [r.algorithm for r in results] == settings.algorithms
        for r in results:
            assert r.status == "unavailable" and r.sizes == []  # no figure at all, not a stand-in
            assert r.source == "kernel (AF_ALG)" and r.implementation is None
            assert errno.errorcode[code] in (r.reason or "")
            best = active_driver(drivers, r.algorithm)
            assert r.active_driver == (best.driver if best else None)
        by_algo = {r.algorithm: r for r in results}
        for algo, symbol in (("sha256", "CRYPTO_USER_API_HASH"), ("xts(aes)", "CRYPTO_USER_API_SKCIPHER"),
                             ("gcm(aes)", "CRYPTO_USER_API_AEAD")):
            assert by_algo[algo].config_now[symbol] == config.get(symbol)
            missing = config.get(symbol) not in ("y", "m")
            assert (f"CONFIG_{symbol}=y" in by_algo[algo].enable_config) == missing
        if code == errno.EAFNOSUPPORT:
            assert "EAFNOSUPPORT" in (by_algo["sha256"].reason or "")
        return
    ok = [r for r in results if r.status == "ok"]
    assert ok, [r.reason for r in results]
    for r in ok:
        assert r.implementation and [s.size for s in r.sizes]
        for s in r.sizes:
            assert s.ci_low <= s.median <= s.ci_high


def test_userspace_figures_are_labelled_and_carry_cis() -> None:
    settings = BenchSettings(algorithms=["sha256", "crc32c", "cbc(aes)"], sizes=[16, 4096], samples=6,
                             min_sample_s=0.002)
    results = run_bench(settings, userspace=True)
    user = {r.algorithm: r for r in results if r.source.startswith("userspace")}
    kernel = [r for r in results if r.source == "kernel (AF_ALG)"]
    assert {r.algorithm for r in kernel} == set(settings.algorithms)
    sha = user["sha256"]
    assert sha.status == "ok" and sha.source.startswith("userspace (hashlib")
    assert [s.size for s in sha.sizes] == [16, 4096]
    for s in sha.sizes:
        assert len(s.bytes_per_s) == 6 and s.ops_per_sample >= 1
        assert math.isfinite(s.ci_low) and math.isfinite(s.ci_high)
        assert s.ci_low <= s.median <= s.ci_high
        assert min(s.bytes_per_s) <= s.median <= max(s.bytes_per_s)
    # Per-call overhead dominates 16-byte hashes: the figures must show it.
    assert sha.sizes[1].median > sha.sizes[0].median
    assert user["crc32c"].status == "unavailable" and "zlib.crc32" in (user["crc32c"].reason or "")
    try:
        import cryptography  # noqa: F401
    except ImportError:
        assert user["cbc(aes)"].status == "unavailable" and user["cbc(aes)"].sizes == []
    if _af_alg_errno() is not None:
        assert all(r.sizes == [] for r in kernel)


def test_cli_json_and_table() -> None:
    result = run_cli("crypto", "bench", "--json", "--algorithms", "sha1,cbc(aes)", "--sizes", "16",
                     "--samples", "3")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {d["algorithm"] for d in data} == {"sha1", "cbc(aes)"}
    if _af_alg_errno() is not None:
        assert all(d["status"] == "unavailable" and d["sizes"] == [] for d in data)
        table = run_cli("crypto", "bench", "--algorithms", "sha256", "--userspace", "--sizes", "64",
                        "--samples", "3")
        assert table.returncode == 0, table.stderr
        assert "Not measured" in table.stdout and "userspace (hashlib" in table.stdout
        config, _ = running_config()
        missing = config.get("CRYPTO_USER_API_HASH") not in ("y", "m")
        assert ("CONFIG_CRYPTO_USER_API_HASH=y" in table.stdout) == missing


def test_option_errors() -> None:
    assert parse_size("4K") == 4096 and parse_size("64KiB") == 65536 and parse_size("16") == 16
    with pytest.raises(PerflabError, match="invalid size"):
        parse_size("lots")
    with pytest.raises(PerflabError, match="out of range"):
        parse_size("0")
    with pytest.raises(PerflabError, match="unknown algorithm md4"):
        run_bench(BenchSettings(algorithms=["md4"], sizes=[16]))
    result = run_cli("crypto", "bench", "--sizes", "12Q")
    assert result.returncode == 1 and result.stderr.startswith("perflab: error: invalid size '12Q'")


def test_operation_error_is_wrapped() -> None:
    """AF_ALG operation sockets cannot be created here (EAFNOSUPPORT), so the send/recv step is driven
    on a connected AF_UNIX SOCK_SEQPACKET pair standing in for the accepted socket: the kernel rejects
    SOL_ALG control messages there, and that failure must surface as an AfAlgError naming the step."""
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    op = af_alg.Operation("cbc(aes)", "cbc-aes-aesni", af_alg.SKCIPHER, listener=right, op=left)
    try:
        with pytest.raises(af_alg.AfAlgError) as caught:
            op.run(bytes(32))
        assert caught.value.step == "operation" and caught.value.target == "cbc-aes-aesni"
    finally:
        op.close()


def test_cli_stores_the_run_and_show_displays_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every run is saved (kind crypto), the unavailable outcome included, and `perflab show` renders it."""
    from perflab.store.db import Store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = run_cli("crypto", "bench", "--db", url, "--json", "--algorithms", "sha256,xts(aes)",
                     "--sizes", "16,4K", "--samples", "3", "--userspace")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    saved = [line for line in result.stderr.splitlines() if line.startswith("saved as #")]
    assert saved and saved[0].endswith(f" in {url}")
    bench_id = int(saved[0].split("#")[1].split()[0])
    with Store.open(url) as store:
        bench = store.get(bench_id)
    assert bench.kind == "crypto" and bench.status == "complete" and bench.commands == []
    assert bench.settings["algorithms"] == ["sha256", "xts(aes)"] and bench.settings["sizes"] == [16, 4096]
    assert bench.settings["samples"] == 3 and bench.settings["userspace"] is True
    assert bench.environment.get("kernel_release")
    crypto = bench.analysis["crypto"]
    stored = crypto["results"]
    assert [(r["algorithm"], r["source"], r["status"]) for r in stored] == [
        (d["algorithm"], d["source"], d["status"]) for d in printed]
    kernel = [r for r in stored if r["source"] == "kernel (AF_ALG)"]
    drivers = read_proc_crypto()
    for r in kernel:
        best = active_driver(drivers, r["algorithm"])
        assert crypto["active_drivers"][r["algorithm"]]["driver"] == (best.driver if best else None)
    user = next(r for r in stored if r["algorithm"] == "sha256" and r["source"].startswith("userspace"))
    assert [s["size"] for s in user["sizes"]] == [16, 4096]
    assert all(s["ci_low"] <= s["median"] <= s["ci_high"] for s in user["sizes"])

    show = run_cli("show", str(bench_id), "--db", url)
    assert show.returncode == 0, show.stderr
    assert f"Benchmark #{bench_id} (crypto" in show.stdout and "userspace (hashlib" in show.stdout
    assert "Raw samples" not in show.stdout  # no command runs: no empty table
    shown = json.loads(run_cli("show", str(bench_id), "--db", url, "--json").stdout)
    assert shown["analysis"]["crypto"]["results"] == stored  # not replaced by a re-analysis of no runs

    code = _af_alg_errno()
    if code is not None:
        assert crypto["af_alg"] == "unavailable" and errno.errorcode[code] in crypto["af_alg_reason"]
        assert crypto["kernel_measured"] == 0 and crypto["kernel_not_measured"] == 2
        for r in kernel:
            assert r["status"] == "unavailable" and r["sizes"] == []
            assert errno.errorcode[code] in r["reason"]
        config, _ = running_config()
        missing = config.get("CRYPTO_USER_API_HASH") not in ("y", "m")
        assert ("CONFIG_CRYPTO_USER_API_HASH=y" in crypto["enable_config"]) == missing
        assert ("CONFIG_CRYPTO_USER_API_HASH=y" in show.stdout) == missing
        assert f"AF_ALG: unavailable — socket(AF_ALG, SOCK_SEQPACKET) failed: {errno.errorcode[code]}" \
            in show.stdout
    else:
        assert crypto["af_alg"] == "available" and crypto["kernel_measured"] >= 1


def test_cli_bad_store_url_fails_before_measuring() -> None:
    result = run_cli("crypto", "bench", "--db", "notaurl://", "--algorithms", "sha256", "--samples", "3")
    assert result.returncode == 1 and result.stderr.startswith("perflab: error: ")
    assert "notaurl://" in result.stderr and result.stdout == ""


def test_calibration_grows_at_most_tenfold_whatever_the_clock_says() -> None:
    """A clock that has not ticked (elapsed 0 or 1 ns on a jiffies clocksource) must not turn a batch of one
    operation into millions: that ran a TCG guest for half an hour."""
    target = 5e6
    assert next_batch(1, 0, target) == 10
    assert next_batch(1, 1, target) == 10
    assert next_batch(100, 1, target) == 1000
    assert next_batch(100, 4_000_000, target) == 200  # close to the target: at least doubles
    assert next_batch(10, 100_000, target) == 100  # 50× short: capped at 10×
    ops, steps = 1, 0
    while ops < 1 << 20:  # a clock that never advances: growth stays geometric, ×10 a step
        new = next_batch(ops, 0, target)
        assert new == ops * 10
        ops, steps = new, steps + 1
    assert steps == 7


def test_each_sample_lasts_at_least_a_hundred_clock_ticks() -> None:
    import time

    resolution = time.get_clock_info("perf_counter").resolution
    assert sample_target_s(BenchSettings([], [], min_sample_s=0.005)) == max(0.005, 100 * resolution)
    assert sample_target_s(BenchSettings([], [], min_sample_s=2.0)) == 2.0
