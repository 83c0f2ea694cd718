"""/proc/crypto parsing against the real file of this machine, and the selection rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.kernel.proc_crypto import active_driver, drivers_for, parse_proc_crypto

PROC = Path("/proc/crypto")


def _blocks_by_regex(text: str) -> list[dict[str, str]]:
    """An independent reading of the file: split on blank lines, pick fields with a regex."""
    blocks = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        fields = dict(re.findall(r"^(\w[\w ]*?)\s*:\s*(.*)$", chunk, flags=re.M))
        blocks.append(fields)
    return blocks


def test_real_proc_crypto_every_block_parsed() -> None:
    text = PROC.read_text()
    drivers = parse_proc_crypto(text)
    expected = _blocks_by_regex(text)
    assert len(drivers) == len(expected) == text.count("\nname ") + text.startswith("name ")
    for parsed, fields in zip(drivers, expected, strict=True):
        assert parsed.name == fields["name"]
        assert parsed.driver == fields["driver"]
        assert parsed.priority == int(fields["priority"])
        assert parsed.selftest == fields.get("selftest", "unknown")


def test_real_active_driver_is_highest_priority_passed() -> None:
    text = PROC.read_text()
    drivers = parse_proc_crypto(text)
    for name in {fields["name"] for fields in _blocks_by_regex(text)}:
        candidates = [f for f in _blocks_by_regex(text) if f["name"] == name
                      and f.get("internal", "no") == "no" and f.get("selftest") != "failed"]
        if not candidates:
            continue
        best = max(int(f["priority"]) for f in candidates)
        assert active_driver(drivers, name) is not None
        assert active_driver(drivers, name).priority == best  # type: ignore[union-attr]


SYNTHETIC = """name         : sha256
driver       : sha256-ni
module       : kernel
priority     : 400
refcnt       : 1
selftest     : failed
internal     : no
type         : shash

name         : sha256
driver       : __sha256-internal
module       : kernel
priority     : 500
refcnt       : 1
selftest     : passed
internal     : yes
type         : shash

name         : sha256
driver       : sha256-generic
module       : kernel
priority     : 100
refcnt       : 1
selftest     : passed
internal     : no
type         : shash
digestsize   : 32
"""


def test_failed_selftest_and_internal_drivers_are_not_chosen() -> None:
    drivers = parse_proc_crypto(SYNTHETIC)
    assert [d.driver for d in drivers] == ["sha256-ni", "__sha256-internal", "sha256-generic"]
    assert active_driver(drivers, "sha256").driver == "sha256-generic"  # type: ignore[union-attr]
    assert [d.driver for d in drivers_for(drivers, "sha256")] == ["sha256-generic"]
    assert drivers[2].fields["digestsize"] == "32"


def test_malformed_proc_crypto_names_line() -> None:
    bad = SYNTHETIC.replace("priority     : 100", "priority     : high")
    with pytest.raises(PerflabError, match=r"^crypto.txt:22: priority 'high' is not an integer"):
        parse_proc_crypto(bad, "crypto.txt")
    with pytest.raises(PerflabError, match=r"^crypto.txt:3: expected 'key : value'"):
        parse_proc_crypto("name : x\ndriver : y\nnonsense line\n", "crypto.txt")
    with pytest.raises(PerflabError, match=r"^crypto.txt:1: crypto entry without module, priority, type"):
        parse_proc_crypto("name : x\ndriver : y\n", "crypto.txt")
