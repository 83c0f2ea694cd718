"""Ideas: tiers, status history, Markdown import/export round trip, one-line errors naming file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.lab.ideas import export_markdown, import_markdown, parse_markdown, tier, views
from perflab.store.db import Store
from perflab.store.method import MethodRecords

TEAM_TABLE = """# Ideas backlog

Some prose the team wrote.

| Idea | Status | Impact | Effort | Where | Notes |
|------|:------:|--------|--------|-------|-------|
| Use **zstd -1** | TODO | High | Low | src/compress.c:42 | cheaper |
| Bigger read buffer | ✅ Done | medium | low | | |
| Rewrite the parser | WIP | high | high | | handles a \\| b |

After the table.
"""


@pytest.fixture()
def records(tmp_path: Path) -> MethodRecords:
    return MethodRecords(Store.open(f"sqlite:///{tmp_path / 'store.db'}"))


def test_tiers_rank_impact_against_effort() -> None:
    assert tier("high", "low") == 1
    assert tier("high", "medium") == tier("medium", "low") == 2
    assert tier("high", "high") == tier("medium", "medium") == tier("low", "low") == 3
    assert tier("low", "high") == tier("medium", "high") == tier("low", "medium") == 4


def test_import_reads_a_team_table_and_keeps_history(records: MethodRecords, tmp_path: Path) -> None:
    path = tmp_path / "ideas.md"
    path.write_text(TEAM_TABLE)
    ids = import_markdown(records, path)
    assert len(ids) == 3
    by_title = {v.idea.title: v for v in views(records)}
    zstd = by_title["Use zstd -1"]
    assert (zstd.tier, zstd.idea.status, zstd.idea.location) == (1, "todo", "src/compress.c:42")
    assert by_title["Bigger read buffer"].idea.status == "done"
    assert by_title["Rewrite the parser"].idea.status == "in-progress"
    assert by_title["Rewrite the parser"].idea.note == "handles a | b"
    assert "line 7" in zstd.idea.events[0]["reason"]
    records.set_status(zstd.idea.id, "benching", "baseline next")
    history = records.idea(zstd.idea.id).events
    assert [e["status"] for e in history] == ["todo", "benching"]
    assert [v.tier for v in views(records)] == sorted(v.tier for v in views(records))


def test_export_then_import_round_trips(records: MethodRecords, tmp_path: Path) -> None:
    records.add_idea("mmap | the input", "high", "medium", tags=["io", "linux"], note="try MAP_POPULATE")
    records.add_idea("SIMD", "medium", "high", status="maybe")
    text = export_markdown(views(records))
    again = parse_markdown(tmp_path / "x.md", text)
    assert [(p.title, p.status, p.impact, p.effort, p.tags, p.note) for p in again] == [
        ("mmap | the input", "todo", "high", "medium", ["io", "linux"], "try MAP_POPULATE"),
        ("SIMD", "maybe", "medium", "high", [], None),
    ]


def test_filters_by_status_and_tag(records: MethodRecords) -> None:
    a = records.add_idea("a", "high", "low", tags=["cpu"])
    records.add_idea("b", "low", "low", status="done")
    assert [v.idea.id for v in views(records, status="todo")] == [a]
    assert [v.idea.id for v in views(records, tag="cpu")] == [a]
    with pytest.raises(PerflabError, match="--status must be one of"):
        views(records, status="nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no table here\n", "no Markdown table with an 'Idea' column"),
        ("| Idea | Status |\n|---|---|\n| a | frobnicated |\n", ":3: unknown status 'frobnicated'"),
        ("| Idea | Status |\n|---|---|\n| a | todo | extra |\n", ":3: row has 3 cells, the header has 2"),
        (
            "| Idea | Impact |\n|---|---|\n| a | enormous |\n",
            ":3: impact 'enormous' is not high, medium or low",
        ),
        ("| Idea | Status |\n|---|---|\n|  | todo |\n", ":3: empty idea title"),
        ("| Idea | Status |\n|---|---|\n", ":1: the ideas table has no rows"),
    ],
)
def test_malformed_tables_name_file_and_line(
    records: MethodRecords, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.md"
    path.write_text(text)
    with pytest.raises(PerflabError, match=message.replace("(", r"\(")) as error:
        import_markdown(records, path)
    assert str(path) in error.value.message and "\n" not in error.value.message
    assert records.ideas() == []  # all or nothing


def test_import_refuses_binary_and_huge_files(records: MethodRecords, tmp_path: Path) -> None:
    path = tmp_path / "bin.md"
    path.write_bytes(b"\xff\xfe| Idea |")
    with pytest.raises(PerflabError, match="not UTF-8"):
        import_markdown(records, path)
    with pytest.raises(PerflabError, match="cannot read"):
        import_markdown(records, tmp_path / "missing.md")


def test_unknown_choices_and_ids_are_one_line_errors(records: MethodRecords) -> None:
    with pytest.raises(PerflabError, match="--impact must be one of"):
        records.add_idea("x", "huge", "low")
    with pytest.raises(PerflabError, match="non-empty title"):
        records.add_idea("  ", "high", "low")
    with pytest.raises(PerflabError, match="no idea with id 42"):
        records.set_status(42, "done")


def test_tracker_says_diminishing_returns_after_three_small_gains() -> None:
    from perflab.lab.experiment_log import TrackerRow, diminishing_returns

    def row(k: int, gain: float | None) -> TrackerRow:
        interval = (gain, gain) if gain is not None else None
        return TrackerRow(k, k, f"idea {k}", "DISCARD", gain, interval, True)

    assert diminishing_returns([row(1, 0.20), row(2, 0.005), row(3, 0.002), row(4, -0.01)])
    assert not diminishing_returns([row(1, 0.005), row(2, 0.002), row(3, 0.03)])
    assert not diminishing_returns([row(1, 0.005), row(2, None), row(3, 0.002)])  # two decided only
