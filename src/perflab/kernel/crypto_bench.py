"""`perflab crypto bench`: kernel crypto throughput per driver through AF_ALG, with CIs.

Without AF_ALG there is no honest kernel figure: the result is ``unavailable`` with the reason, the
driver /proc/crypto says the kernel would use, and the config that would enable the interface. A
userspace figure (hashlib) is never a substitute; it is produced only on request and labelled.
"""

from __future__ import annotations

import hashlib
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from perflab.errors import PerflabError
from perflab.kernel import af_alg
from perflab.store.jsonio import json_safe
from perflab.store.model import Benchmark

DEFAULT_ALGORITHMS = ("xts(aes)", "cbc(aes)", "gcm(aes)", "sha1", "sha256", "sha512", "crc32c")
DEFAULT_SIZES = (16, 64, 256, 1024, 4096, 16384, 65536)
MAX_SIZE = 1 << 20
# Kconfig symbols the algorithm itself needs, beyond the AF_ALG interface (for "enable" hints).
ALGORITHM_SYMBOLS = {
    "xts(aes)": ["CRYPTO_XTS", "CRYPTO_AES"], "cbc(aes)": ["CRYPTO_CBC", "CRYPTO_AES"],
    "gcm(aes)": ["CRYPTO_GCM", "CRYPTO_AES"], "sha1": ["CRYPTO_SHA1"], "sha256": ["CRYPTO_SHA256"],
    "sha512": ["CRYPTO_SHA512"], "crc32c": ["CRYPTO_CRC32C"],
}

KERNEL = "kernel (AF_ALG)"
USERSPACE = "userspace"


@dataclass
class SizeThroughput:
    """Throughput of one implementation at one buffer size: ``samples`` timed batches of ``ops``."""

    size: int
    ops_per_sample: int
    bytes_per_s: list[float]
    median: float
    ci_low: float
    ci_high: float
    confidence: float
    notes: list[str] = field(default_factory=list)


@dataclass
class CryptoResult:
    algorithm: str
    interface: str  # hash | skcipher | aead
    source: str  # "kernel (AF_ALG)" or "userspace (…)"
    implementation: str | None  # the driver bound, or the userspace library
    status: str  # ok | unavailable | failed
    reason: str | None = None
    active_driver: str | None = None  # what /proc/crypto says the kernel picks
    active_priority: int | None = None
    enable_config: list[str] = field(default_factory=list)  # lines that would make it work
    config_now: dict[str, str | None] = field(default_factory=dict)  # their current values
    sizes: list[SizeThroughput] = field(default_factory=list)
    label: str | None = None  # "emulated (TCG): not hardware performance" inside a perflab vm guest

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class BenchSettings:
    algorithms: list[str]
    sizes: list[int]
    samples: int = 15
    min_sample_s: float = 0.005  # each sample times enough operations to last at least this long
    confidence: float = 0.95


def parse_size(text: str) -> int:
    """``16``, ``4K``, ``4KiB``, ``64k`` → bytes."""
    match = re.fullmatch(r"\s*(\d+)\s*([kKmM]?)(i?[bB])?\s*", text)
    if not match:
        raise PerflabError(f"invalid size {text!r} (examples: 16, 4K, 64KiB)")
    value = int(match.group(1)) * {"": 1, "k": 1024, "m": 1 << 20}[match.group(2).lower()]
    if not 1 <= value <= MAX_SIZE:
        raise PerflabError(f"size {text!r} out of range 1 B … 1 MiB")
    return value


def check_sizes(algorithm: str, sizes: list[int]) -> list[int]:
    """The sizes the algorithm accepts (CBC/XTS need whole 16-byte blocks)."""
    block = af_alg.BLOCK_BYTES.get(algorithm)
    return [s for s in sizes if block is None or (s >= block and s % block == 0)]


def check_algorithms(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in DEFAULT_ALGORITHMS]
    if unknown:
        raise PerflabError(f"unknown algorithm {', '.join(unknown)} (known: {', '.join(DEFAULT_ALGORITHMS)})")
    return names


def next_batch(ops: int, elapsed_ns: int, target_ns: float) -> int:
    """The next calibration batch: aimed at ``target_ns`` with 20 % to spare, but at most ten times the
    last one. A batch that took 0 or a few ticks says nothing about the rate (a guest whose clocksource
    fell back to jiffies ticks every 4 ms): jumping by target/elapsed from it once asked for millions of
    operations and a TCG guest ran for half an hour."""
    if elapsed_ns <= 0:
        return ops * 10
    return max(ops * 2, min(ops * 10, int(ops * target_ns / elapsed_ns * 1.2)))


def sample_target_s(settings: BenchSettings) -> float:
    """Each sample lasts at least ``min_sample_s`` and at least 100 ticks of the clock (1 % quantization)."""
    resolution = time.get_clock_info("perf_counter").resolution
    return max(settings.min_sample_s, 100 * resolution)


def measure(run: Callable[[bytes], object], size: int, settings: BenchSettings) -> SizeThroughput:
    """Time ``run`` on a ``size``-byte buffer: calibrate a batch, then time ``samples`` batches."""
    from perflab.stats.summary import summarize

    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    run(data)  # warm-up: first use instantiates templates, faults in pages
    target_ns = sample_target_s(settings) * 1e9
    ops = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(ops):
            run(data)
        elapsed = time.perf_counter_ns() - start
        if elapsed >= target_ns or ops >= 1 << 24:
            break
        ops = next_batch(ops, elapsed, target_ns)
    rates: list[float] = []
    for _ in range(settings.samples):
        start = time.perf_counter_ns()
        for _ in range(ops):
            run(data)
        elapsed = time.perf_counter_ns() - start
        rates.append(ops * size / (max(elapsed, 1) / 1e9))
    summary = summarize(rates, confidence=settings.confidence)
    return SizeThroughput(size=size, ops_per_sample=ops, bytes_per_s=rates, median=summary.median,
                          ci_low=summary.median_ci[0], ci_high=summary.median_ci[1],
                          confidence=settings.confidence, notes=list(summary.notes))


# -- kernel -----------------------------------------------------------------------------------------

def _kernel_context() -> tuple[list, dict[str, str | None]]:
    """(/proc/crypto drivers, running config values) — each empty when unreadable."""
    from perflab.kernel.config import running_config
    from perflab.kernel.proc_crypto import read_proc_crypto

    try:
        drivers = read_proc_crypto()
    except PerflabError:
        drivers = []
    values: dict[str, str | None] = {}
    try:
        config, _ = running_config()
    except PerflabError:
        return drivers, values
    symbols = {"CRYPTO_USER_API", *af_alg.USER_API_SYMBOL.values()}
    for names in ALGORITHM_SYMBOLS.values():
        symbols.update(names)
    for symbol in symbols:
        values[symbol] = config.get(symbol)
    return drivers, values


def _enable_lines(algorithm: str, config_now: dict[str, str | None], need_interface: bool) -> tuple[
        list[str], dict[str, str | None]]:
    symbols = [af_alg.USER_API_SYMBOL[af_alg.interface_of(algorithm)]] if need_interface else []
    symbols += ALGORITHM_SYMBOLS.get(algorithm, [])
    now = {s: config_now.get(s) for s in symbols} if config_now else {}
    lines = [f"CONFIG_{s}=y" for s in symbols if not config_now or config_now.get(s) not in ("y", "m")]
    return lines, now


def kernel_results(settings: BenchSettings) -> list[CryptoResult]:
    """One result per (algorithm, driver), or one ``unavailable`` result per algorithm."""
    from perflab.kernel.proc_crypto import active_driver, drivers_for, read_proc_crypto

    drivers, config_now = _kernel_context()
    problem = af_alg.probe()
    results: list[CryptoResult] = []
    for algorithm in settings.algorithms:
        interface = af_alg.interface_of(algorithm)
        active = active_driver(drivers, algorithm)
        base = {"algorithm": algorithm, "interface": interface, "source": KERNEL,
                "active_driver": active.driver if active else None,
                "active_priority": active.priority if active else None}
        if problem is not None:
            lines, now = _enable_lines(algorithm, config_now, need_interface=True)
            results.append(CryptoResult(**base, implementation=None, status="unavailable",
                                        reason=str(problem), enable_config=lines, config_now=now))
            continue
        try:
            # Binding the algorithm name instantiates templates (xts(aes)) so their drivers appear.
            with af_alg.open_operation(algorithm) as first:
                first.run(bytes(32))
        except af_alg.AfAlgError as error:
            lines, now = _enable_lines(algorithm, config_now, need_interface=error.step == "bind")
            results.append(CryptoResult(**base, implementation=None, status="unavailable", reason=str(error),
                                        enable_config=lines, config_now=now))
            continue
        try:
            registered = drivers_for(read_proc_crypto(), algorithm)
        except PerflabError:
            registered = []
        names = [d.driver for d in registered] or [algorithm]
        if registered and not base["active_driver"]:
            base["active_driver"], base["active_priority"] = registered[0].driver, registered[0].priority
        for name in names:
            results.append(_bench_kernel_driver(algorithm, name, base, settings))
    return results


def _bench_kernel_driver(algorithm: str, name: str, base: dict, settings: BenchSettings) -> CryptoResult:
    result = CryptoResult(**base, implementation=name, status="ok")
    try:
        with af_alg.open_operation(algorithm, name) as op:
            _verify(algorithm, op.run)
            for size in check_sizes(algorithm, settings.sizes):
                result.sizes.append(measure(op.run, size, settings))
    except af_alg.AfAlgError as error:
        result.status, result.reason = "failed", str(error)
    except ValueError as error:  # a wrong digest: the driver is not measured
        result.status, result.reason = "failed", str(error)
    return result


def _verify(algorithm: str, run: Callable[[bytes], bytes]) -> None:
    """Check a hash driver against hashlib before timing it: a broken path must not yield a figure."""
    if algorithm in ("sha1", "sha256", "sha512"):
        sample = bytes(range(256)) * 4
        if run(sample) != hashlib.new(algorithm, sample).digest():
            raise ValueError(f"{algorithm}: kernel digest differs from hashlib's")


# -- userspace -------------------------------------------------------------------------------------

def _userspace_impl(algorithm: str) -> tuple[Callable[[bytes], object] | None, str, str | None]:
    """(function, label, reason when unavailable)."""
    if algorithm in ("sha1", "sha256", "sha512"):
        def digest(data: bytes, _name: str = algorithm) -> bytes:
            return hashlib.new(_name, data).digest()
        return digest, f"hashlib ({ssl.OPENSSL_VERSION})", None
    if algorithm == "crc32c":
        return None, "hashlib", ("no CRC32C in Python's standard library (zlib.crc32 is CRC-32, a different "
                                 "polynomial, so it is not a stand-in)")
    return _cryptography_impl(algorithm)


def _cryptography_impl(algorithm: str) -> tuple[Callable[[bytes], object] | None, str, str | None]:
    try:
        import cryptography
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        return None, "cryptography", ("the `cryptography` package is not installed "
                                      "(no AES in the standard library)")
    label = f"cryptography {cryptography.__version__}"
    key = bytes(range(af_alg.AES_KEY_BYTES[algorithm]))
    iv = bytes(af_alg.IV_BYTES[algorithm])
    if algorithm == "gcm(aes)":
        aead = AESGCM(key)
        return (lambda data: aead.encrypt(iv, data, None)), label, None
    mode = modes.XTS(iv) if algorithm == "xts(aes)" else modes.CBC(iv)
    cipher = Cipher(algorithms.AES(key), mode)

    def encrypt(data: bytes) -> bytes:
        enc = cipher.encryptor()
        return enc.update(data) + enc.finalize()
    return encrypt, label, None


def userspace_results(settings: BenchSettings) -> list[CryptoResult]:
    results = []
    for algorithm in settings.algorithms:
        run, label, reason = _userspace_impl(algorithm)
        source = f"{USERSPACE} ({label})"
        result = CryptoResult(algorithm=algorithm, interface=af_alg.interface_of(algorithm), source=source,
                              implementation=label, status="ok" if run else "unavailable", reason=reason)
        if run is not None:
            for size in check_sizes(algorithm, settings.sizes):
                result.sizes.append(measure(run, size, settings))
        results.append(result)
    return results


def run_bench(settings: BenchSettings, userspace: bool = False) -> list[CryptoResult]:
    check_algorithms(settings.algorithms)
    if settings.samples < 3:
        raise PerflabError("--samples must be at least 3 (confidence intervals need them)")
    from perflab.env.detect import emulation_label

    results = kernel_results(settings)
    if userspace:
        results += userspace_results(settings)
    for result in results:
        result.label = emulation_label()
    return results


def to_benchmark(results: list[CryptoResult], settings: BenchSettings, userspace: bool = False) -> Benchmark:
    """The run as a storable ``Benchmark`` (kind ``crypto``).

    Crypto figures are timed batches inside this process, not runs of a command, so ``commands`` stays
    empty: every result (measured, ``unavailable`` or ``failed``, with its reason, the active driver and
    the enabling config) lives in ``analysis["crypto"]``, the options in ``settings``.
    """
    from perflab.env.capture import capture_environment

    problem = af_alg.probe()
    kernel = [r for r in results if r.source == KERNEL]
    measured = [r for r in kernel if r.status == "ok"]
    crypto: dict[str, Any] = {
        "af_alg": "available" if problem is None else "unavailable",
        "af_alg_reason": None if problem is None else str(problem),
        "kernel_measured": len(measured),
        "kernel_not_measured": len(kernel) - len(measured),
        "active_drivers": {r.algorithm: {"driver": r.active_driver, "priority": r.active_priority}
                           for r in kernel},
        "enable_config": sorted({line for r in kernel for line in r.enable_config}),
        "results": [json_safe(r.to_dict()) for r in results],
    }
    bench_settings = {"algorithms": list(settings.algorithms), "sizes": list(settings.sizes),
                      "samples": settings.samples, "min_sample_s": settings.min_sample_s,
                      "confidence": settings.confidence, "userspace": userspace}
    return Benchmark(commands=[], created_at=datetime.now(UTC).isoformat(timespec="seconds"), kind="crypto",
                     environment=capture_environment(), settings=bench_settings, analysis={"crypto": crypto})


