"""A suite's ``vm = { kernel = … }`` variants as the suite file reads them: every mistake is one line naming
file:line and the key. (Booting them with real QEMU and kernels: tests/vm/test_suite_variants.py.)

The kernel files here are empty placeholders: the suite file only checks that they exist; nothing boots.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.lab.suite_file import load_suite
from perflab.lab.suite_vm import VM_METRICS

SUITE = """\
[suite]
name = "kernels"
runs = 3

[[benchmark]]
name = "loop"
argv = ["sh", "-c", "true"]

[[variant]]
name = "a"
vm = { kernel = "a.deb", accel = "tcg" }

[[variant]]
name = "b"
vm = { kernel = "b.deb", accel = "tcg", machine = "pc", cpus = 2, mem = 512, timeout = 60.5 }
"""


@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    (tmp_path / "a.deb").write_bytes(b"")
    (tmp_path / "b.deb").write_bytes(b"")
    return tmp_path


def write(directory: Path, text: str) -> Path:
    path = directory / "perflab.toml"
    path.write_text(text)
    return path


def error_of(directory: Path, text: str) -> str:
    with pytest.raises(PerflabError) as caught:
        load_suite(write(directory, text))
    assert "\n" not in caught.value.message
    return caught.value.message


def test_a_vm_suite_parses_with_the_guest_metrics(suite_dir: Path) -> None:
    spec = load_suite(write(suite_dir, SUITE))
    a, b = (v.vm for v in spec.variants)
    assert a is not None and b is not None
    assert a.kernel == str(suite_dir / "a.deb")
    assert (a.accel, a.machine, a.cpus, a.mem_mb) == ("tcg", "auto", 1, 1024)
    assert (b.machine, b.cpus, b.mem_mb, b.timeout_s) == ("pc", 2, 512, 60.5)
    # the guest's clock is the measured figure; host-clock time and boot costs are metrics of their own
    assert spec.metrics == list(VM_METRICS) and spec.primary == "wall"


@pytest.mark.parametrize(
    ("change", "line", "key", "says"),
    [
        ('accel = "tcg" }', 11, "variant[0].vm.acel", "unknown key"),
        ('kernel = "a.deb"', 11, "variant[0].vm.kernel", "no such kernel file"),
        ('machine = "pc"', 15, "variant[1].vm.machine", "choose auto"),
        ("cpus = 2", 15, "variant[1].vm.cpus", "at least 1"),
    ],
)
def test_a_malformed_vm_table_is_one_line_naming_file_line_and_key(
    suite_dir: Path, change: str, line: int, key: str, says: str
) -> None:
    broken = {
        'accel = "tcg" }': 'acel = "tcg" }',
        'kernel = "a.deb"': 'kernel = "missing.deb"',
        'machine = "pc"': 'machine = "pcx"',
        "cpus = 2": "cpus = 0",
    }[change]
    text = SUITE.replace(change, broken, 1)
    message = error_of(suite_dir, text)
    assert message.startswith(f"{suite_dir / 'perflab.toml'}:{line}: {key}: "), message
    assert says in message


def test_vm_and_host_variants_do_not_mix(suite_dir: Path) -> None:
    text = SUITE.replace('vm = { kernel = "a.deb", accel = "tcg" }\n', "")
    message = error_of(suite_dir, text)
    assert message.startswith(f"{suite_dir / 'perflab.toml'}:9: variant[0]: ") and "no vm table" in message


def test_host_only_metrics_and_callables_are_refused_for_vm_variants(suite_dir: Path) -> None:
    message = error_of(suite_dir, SUITE.replace("runs = 3", 'runs = 3\nmetrics = ["wall", "user"]'))
    assert ":4: suite.metrics: 'user' is not measured inside a VM guest" in message
    callable_suite = SUITE.replace('argv = ["sh", "-c", "true"]', 'callable = "json:dumps"')
    assert "runs in this process, not in a VM guest" in error_of(suite_dir, callable_suite)
    assert "missing key 'kernel'" in error_of(suite_dir, SUITE.replace('kernel = "a.deb", ', ""))
    adaptive = SUITE.replace("runs = 3", "max-runs = 20")
    assert ":5: benchmark[0]: 'loop': vm variants need a fixed run count" in error_of(suite_dir, adaptive)


def test_the_cli_refuses_a_malformed_vm_variant_with_one_line(suite_dir: Path) -> None:
    path = write(suite_dir, SUITE.replace('kernel = "b.deb"', 'kernel = "nope/b.deb"'))
    done = subprocess.run([sys.executable, "-m", "perflab", "suite", "run", "--suite", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert f"{path}:15: variant[1].vm.kernel: " in done.stderr and "no such kernel file" in done.stderr


def test_a_boot_on_a_jiffies_clock_is_a_warning_of_the_result() -> None:
    """The guest clocksource each boot ran on is kept; a jiffies fallback (4 ms ticks) is said first."""
    from perflab.lab.vm_results import label_analysis
    from perflab.store.model import Benchmark

    boots = [{"boot": 0, "status": "ok", "health": [], "clocksource": "tsc"},
             {"boot": 1, "status": "ok", "health": [], "clocksource": "refined-jiffies"}]
    bench = Benchmark(commands=[], created_at="2026-11-29T00:00:00", settings={"boots": boots})
    analysis = label_analysis({"commands": [], "warnings": []}, bench)
    assert analysis["warnings"] == ["1 boot(s) ran on a jiffies clock (4 ms ticks), e.g. boot 1: their "
                                    "guest-clock times are coarse"]
    boots[1]["clocksource"] = "tsc-early"
    assert label_analysis({"commands": [], "warnings": []}, bench)["warnings"] == []
