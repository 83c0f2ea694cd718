"""`perflab tune try --json` and the failure hints, through the real executable, real congestion-control
switches and the real SQLite store; the original congestion control is put back in a ``finally``."""

from __future__ import annotations

import json

from .test_tune_try import CC, finish, needs_root, original_cc, others, perflab, stored

__all__ = ["original_cc"]  # the fixture, imported for pytest


@needs_root
def test_json_prints_the_stored_benchmark_with_its_analysis(original_cc: str) -> None:
    target = others(original_cc)[0]
    code, out, err = finish(perflab("tune", "try", "--json", "--knob",
                                    f"net.ipv4.tcp_congestion_control={target}", "--blocks", "2",
                                    "--runs-per-block", "3", "--warmup", "0", "--seed", "7",
                                    "--", "true"))
    assert code == 0, err
    data = json.loads(out)  # stdout is the JSON document and nothing else
    assert "stored as benchmark #" in err and "Medians per variant" in err  # human output on stderr
    (bench,) = stored()
    assert data["id"] == bench.id and data["kind"] == "tune-try" and data["status"] == "complete"
    assert [c["name"] for c in data["commands"]] == ["baseline", target]
    assert [len(c["runs"]) for c in data["commands"]] == [6, 6]
    assert data["analysis"]["decision_metric"] == "wall"
    (comparison,) = data["analysis"]["comparisons"]
    assert comparison["candidate"] == target and comparison["metric"] == "wall"
    assert comparison["comparison"]["verdict"] == bench.analysis["comparisons"][0]["comparison"]["verdict"]
    assert data["settings"]["candidates"] == {target: {"net.ipv4.tcp_congestion_control": target}}
    assert data["analysis"]["restored_to"] == {"net.ipv4.tcp_congestion_control": original_cc}
    assert CC.read_text().strip() == original_cc


@needs_root
def test_failure_hints_name_only_options_tune_try_has(original_cc: str) -> None:
    """The measurement core suggests `perflab bench`'s --ignore-failure and --show-output; tune try has
    neither, so its messages must not send the user there."""
    target = others(original_cc)[0]
    code, out, err = finish(perflab("tune", "try", "--knob", f"net.ipv4.tcp_congestion_control={target}",
                                    "--blocks", "2", "--runs-per-block", "3", "--warmup", "0", "--", "false"))
    assert code == 1 and "perflab: error: command 'false' exited with code 1 on run 1" in err
    assert "tune try stops at the first failed run: make the command succeed under every variant" in err
    assert "run the command by hand to see it" in err
    assert "--ignore-failure" not in err + out and "--show-output" not in err + out
    (bench,) = stored()
    assert bench.status == "failed" and "--ignore-failure" not in (bench.message or "")
    assert CC.read_text().strip() == original_cc



@needs_root
def test_timeout_hint_points_at_timeout(original_cc: str) -> None:
    target = others(original_cc)[0]
    code, out, err = finish(perflab("tune", "try", "--knob", f"net.ipv4.tcp_congestion_control={target}",
                                    "--blocks", "2", "--runs-per-block", "3", "--warmup", "0",
                                    "--timeout", "0.2", "--", "sleep", "5"))
    assert code == 1 and "timed out after 0.2 s" in err
    assert "tune try stops at the first failed run: give a longer --timeout" in err
    assert "--ignore-failure" not in err + out
    assert CC.read_text().strip() == original_cc
