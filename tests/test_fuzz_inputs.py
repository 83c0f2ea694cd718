"""Property-based fuzzing of every parser that takes user input: a valid result or one clean line.

Each property feeds hypothesis-generated input (random text and bytes, plus shapes aimed at the crashes
the issue found: huge integers, nan/inf/sNaN, 1e999999999, 4,300 digits, deep nesting, lone surrogates)
to one entry point and asserts it either returns or raises ``PerflabError`` with a single-line message;
any other exception (a traceback for the user) fails the test. The example budget is fixed and the
generation derandomized, so CI runs the same examples every time, in well under two minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from perflab import fsutil
from perflab.bench.commands import (
    parse_env,
    parse_metric,
    parse_parameter_list,
    parse_parameter_scan,
    split_command,
)
from perflab.errors import PerflabError
from perflab.kernel.config import KernelConfig
from perflab.kernel.modprobed import read_modprobed_db
from perflab.kernel.modules import parse_modinfo, parse_module_list, parse_proc_modules
from perflab.lab.suite_file import load_suite
from perflab.store.db import Store
from perflab.store.jsonio import load_result_file
from perflab.system import journal
from perflab.system.knobs import KNOBS
from perflab.system.profiles import load_profile

T = TypeVar("T")
BUDGET = settings(max_examples=int(os.environ.get("PERFLAB_FUZZ_EXAMPLES", "120")), deadline=None,
                  derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def clean(call: Callable[[], T]) -> T | None:
    """The result, or None after a one-line PerflabError; anything else propagates and fails."""
    try:
        return call()
    except PerflabError as error:
        assert error.message.strip() and "\n" not in error.message.strip(), repr(error.message)
        return None


NASTY_NUMBERS = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "sNaN", "1e999999999", "-1e999999999",
                 "9" * 4300, "0." + "1" * 4300, "1e-999999999", "0", "-0", "1e30", "0x10", "1_000", " 1",
                 "", "٣", "1e400"]
numbers_text = st.one_of(st.sampled_from(NASTY_NUMBERS), st.decimals(allow_nan=True).map(str),
                         st.integers().map(str), st.floats().map(repr), st.text(max_size=12))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                         st.sampled_from([2**63, 2**64, -(2**63) - 1, 1e300, -1.0, 1e-300]))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@st.composite
def hyperfine_exports(draw: Any) -> Any:
    n = draw(st.integers(1, 4))
    entry: dict[str, Any] = {
        "command": draw(st.one_of(st.text(max_size=20), json_scalars)),
        "times": draw(st.one_of(st.lists(json_scalars, min_size=n, max_size=n),
                                st.lists(st.floats(0, 10), min_size=n, max_size=n), json_values)),
    }
    for key, values in (("exit_codes", st.lists(json_scalars, min_size=n, max_size=n)),
                        ("memory_usage_byte", st.lists(json_scalars, min_size=n, max_size=n)),
                        ("user", json_scalars), ("system", json_scalars),
                        ("parameters", st.one_of(json_values,
                                                 st.dictionaries(st.text(max_size=5), json_scalars)))):
        if draw(st.booleans()):
            entry[key] = draw(values)
    return draw(st.one_of(st.just({"results": [entry]}), json_values, st.just({"results": entry})))


class Scratch:
    """One private directory (and store) per property: hypothesis reuses a test body many times."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="perflab-fuzz-"))
        self.n = 0

    def file(self, data: bytes | str, suffix: str = "") -> Path:
        self.n += 1
        path = self.dir / f"f{self.n}{suffix}"
        path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
        return path


SCRATCH = Scratch()
STORE = Store.open(f"sqlite:///{SCRATCH.dir / 'fuzz.db'}")


@pytest.fixture(autouse=True, scope="module")
def _remove_scratch() -> Iterator[None]:
    yield
    STORE.close()
    shutil.rmtree(SCRATCH.dir, ignore_errors=True)


@BUDGET
@given(hyperfine_exports())
def test_import_gives_a_storable_result_or_one_line(data: Any) -> None:
    try:
        text = json.dumps(data, allow_nan=True)
    except (ValueError, RecursionError):
        return
    bench = clean(lambda: load_result_file(SCRATCH.file(text, ".json")))
    if bench is not None:  # what import accepts must also go into the store and come back
        bench_id = STORE.save(bench)
        assert len(STORE.get(bench_id).commands) == len(bench.commands)


@BUDGET
@given(st.one_of(st.binary(max_size=300), st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n),
                 st.integers(1, 5000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
                 st.sampled_from([b'{"results": [{"command": "\\ud800", "times": [1]}]}',
                                  b'{"results": [{"command": "x", "times": [1e400]}]}',
                                  b'{"results": [{"command": "x", "times": [1], '
                                  b'"exit_codes": [9223372036854775808]}]}',
                                  b'{"results": [{"command": "x", "times": [-1]}]}'])))
def test_import_of_raw_bytes_is_one_line(data: bytes) -> None:
    clean(lambda: load_result_file(SCRATCH.file(data, ".json")))


metric_text = st.one_of(
    st.text(max_size=40),
    st.builds(lambda r: f"m={r}", st.text(alphabet="()[]{}*+?|\\^$.,:0123456789a-zAZ", max_size=30)),
    st.integers(0, 10**15).map(lambda n: f"m=a{{{n}}}"),
    st.sampled_from(["m=a{99999999999}", "m=(" * 200 + ")" * 200, "m=(?P<x>1)(?P=y)", "m=[", "=x",
                     "m=x:unit:higher", "m=:"]),
)


@BUDGET
@given(metric_text)
def test_metric_spec_is_valid_or_one_line(text: str) -> None:
    clean(lambda: parse_metric(text))


@BUDGET
@given(st.text(max_size=10), numbers_text, numbers_text, st.one_of(st.none(), numbers_text))
@example("x", "0", "1e999999999", None)  # the crashes the issue found, always tried first
@example("x", "0", "9" * 4300, None)
@example("x", "0", "1", "1e-999999999")
@example("x", "nan", "1", None)
@example("x", "0", "inf", "sNaN")
def test_parameter_scan_is_valid_or_one_line(name: str, lo: str, hi: str, step: str | None) -> None:
    result = clean(lambda: parse_parameter_scan(name or "x", lo, hi, step))
    if result is not None:
        assert 1 <= len(result[1]) <= 10_000


@BUDGET
@given(st.text(max_size=10), st.text(max_size=60), st.lists(st.text(max_size=20), max_size=4),
       st.text(max_size=60))
def test_parameter_list_env_and_command_splitting(name: str, values: str, env: list[str],
                                                  command: str) -> None:
    clean(lambda: parse_parameter_list(name, values))
    clean(lambda: parse_env(env))
    clean(lambda: split_command(command, shell=False))


KNOB_NAMES = sorted(KNOBS)
toml_values = st.one_of(st.integers(min_value=-(10**50), max_value=10**50).map(str),
                        st.text(max_size=30).map(json.dumps),
                        st.lists(st.integers(-5, 10**12), max_size=4).map(str),
                        st.sampled_from(["true", "1.5", "nan", "inf", "[[1]]", '"' + "9" * 5000 + '"',
                                         "{a=1}", "[" * 2000 + "]" * 2000, "9" * 4400, '"\\u2028"',
                                         '"\f"']))


@st.composite
def profiles(draw: Any) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f"description = {draw(toml_values)}")
    if draw(st.booleans()):
        include = draw(st.sampled_from(['"throughput"', '["latency"]', '"nosuch"', "3"]))
        lines.append(f"include = {include}")
    lines.append(draw(st.sampled_from(["[settings]", "[settings.vm]", "settings = 1", ""])))
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.one_of(st.sampled_from(KNOB_NAMES), st.text(max_size=15)))
        lines.append(f"{json.dumps(key)} = {draw(toml_values)}")
    return "\n".join(lines) + "\n"


@BUDGET
@given(st.one_of(profiles(), st.text(max_size=200)))
def test_profile_files_load_or_give_one_line(text: str) -> None:
    path = SCRATCH.file(text, ".toml")
    os.chmod(path, 0o600)
    clean(lambda: load_profile(profile_file=path))


SUITE_KEYS = ["name", "runs", "warmup", "timeout", "seed", "reference", "metrics", "primary", "argv",
              "command", "shell", "inputs", "vars", "env", "template", "profile", "callable", "rev"]


@st.composite
def suites(draw: Any) -> str:
    lines = ["[suite]"]
    for key in draw(st.lists(st.sampled_from(SUITE_KEYS[:8]), max_size=3, unique=True)):
        lines.append(f"{key} = {draw(toml_values)}")
    for table in ("[[benchmark]]", "[[variant]]"):
        for _ in range(draw(st.integers(0, 2))):
            lines.append(table)
            lines.append(f'name = {draw(st.one_of(st.just(json.dumps("b")), toml_values))}')
            for key in draw(st.lists(st.sampled_from(SUITE_KEYS), max_size=3, unique=True)):
                lines.append(f"{key} = {draw(toml_values)}")
    return "\n".join(lines) + "\n"


@BUDGET
@given(st.one_of(suites(), st.text(max_size=200)))
def test_suite_files_load_or_give_one_line(text: str) -> None:
    clean(lambda: load_suite(SCRATCH.file(text, ".toml")))


config_lines = st.one_of(
    st.text(max_size=40),
    st.builds(lambda k, v: f"CONFIG_{k}={v}", st.text(alphabet="ABCZ_019", min_size=1, max_size=8),
              st.one_of(st.sampled_from(["y", "m", "n", '"a\fb"', '"a\u2028b"', '"x', '""', "0x1g", "-0"]),
                        st.text(max_size=12))),
    st.builds(lambda k: f"# CONFIG_{k} is not set", st.text(max_size=8)),
)


@BUDGET
@given(st.lists(config_lines, max_size=12))
def test_kernel_configs_and_fragments_parse_or_give_one_line(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    config = clean(lambda: KernelConfig.loads(text, "fragment.config"))
    if config is not None:  # what parses must round-trip through its own writer
        again = clean(lambda: KernelConfig.loads(config.dumps(), "again.config"))
        assert again is not None and again.as_dict() == config.as_dict()


@BUDGET
@given(st.one_of(st.text(max_size=120), st.lists(st.text(alphabet="abc_-.ko/ #0123456789\t", max_size=20),
                                                 max_size=8).map("\n".join)),
       st.binary(max_size=200))
def test_module_lists_parse_or_give_one_line(text: str, data: bytes) -> None:
    clean(lambda: parse_module_list(text, "modules.order"))
    clean(lambda: parse_proc_modules(text, "/proc/modules"))
    clean(lambda: parse_modinfo(data, "modules.builtin.modinfo"))
    clean(lambda: read_modprobed_db(SCRATCH.file(text.encode("utf-8", "surrogatepass") + data)))


journal_lines = st.one_of(
    st.binary(max_size=60),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"type": st.sampled_from(sorted(journal.REQUIRED)), "txn": json_scalars,
                           "knob": st.one_of(st.sampled_from(KNOB_NAMES), json_scalars),
                           "saved": json_scalars, "before": json_scalars, "wanted": json_scalars,
                           "after": json_scalars, "time": json_scalars, "boot_id": json_scalars}
                          ).map(lambda r: json.dumps(r).encode()),
)


@BUDGET
@given(st.lists(journal_lines, max_size=8), st.booleans())
def test_journal_reads_any_bytes_line_by_line(lines: list[bytes], torn: bool) -> None:
    state = SCRATCH.dir / "state"
    os.environ["PERFLAB_STATE_DIR"] = str(state)
    path = fsutil.state_dir() / journal.JOURNAL_NAME
    path.write_bytes(b"\n".join(lines) + (b"" if torn else b"\n"))
    os.chmod(path, 0o600)
    scan = journal.scan()
    assert all("\n" not in note for note in scan.damaged + scan.torn)
    for intent in journal.pending(scan.records):  # what rollback and status would walk
        assert isinstance(intent.knob, str) and isinstance(intent.saved, str)
        assert isinstance(intent.time, float) and isinstance(intent.label, str)
