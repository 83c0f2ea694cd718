"""Reads back from a page what it claims: the results listed, each command's median and CI, each
comparison's ratio, CI and verdict (from the data attributes and the text the reader sees)."""

from __future__ import annotations

from html.parser import HTMLParser


class PageFacts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.results: list[dict[str, str]] = []  # overview rows
        self.commands: list[dict[str, str]] = []
        self.comparisons: list[dict[str, str]] = []
        self.experiments: list[dict[str, str]] = []
        self.ideas: list[dict[str, str]] = []
        self.suite_rows: list[dict[str, str]] = []
        self.speedups: list[dict[str, str]] = []
        self.row_heads: list[str] = []
        self.anns_engines: list[dict[str, str]] = []
        self.history: list[dict[str, str]] = []  # one per point, with its table's benchmark/input/variant
        self._history_table: dict[str, str] = {}
        self.ids: set[str] = set()
        self.tags: dict[str, int] = {}
        self._table_result: str | None = None
        self._row: dict[str, str] | None = None
        self._text: list[str] | None = None
        self._cell_class = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "table":
            self._table_result = a.get("data-result")
            self._history_table = a if a.get("class") == "history-table" else {}
        elif tag == "tr" and "data-kind" in a and "data-result" in a:
            self.results.append(a)
        elif tag == "tr" and a.get("class") == "command":
            self._row = {**a, "result": self._table_result or ""}
            self.commands.append(self._row)
        elif tag == "tr" and a.get("class") == "comparison":
            self._row = {**a, "result": self._table_result or ""}
            self.comparisons.append(self._row)
        elif tag == "tr" and a.get("class") == "history-point":
            self.history.append({**a, "benchmark": self._history_table.get("data-benchmark", ""),
                                 "input": self._history_table.get("data-input", ""),
                                 "variant": self._history_table.get("data-variant", "")})
        elif tag == "tr" and a.get("class") == "anns-engine":
            self.anns_engines.append(a)
        elif tag == "tr" and a.get("class") == "suite-row":
            self._row = {**a, "result": self._table_result or ""}
            self.suite_rows.append(self._row)
        elif tag == "td" and "speedup" in a.get("class", "").split():
            self.speedups.append({**a, "result": self._table_result or ""})
        elif tag == "tr" and a.get("class") in ("experiment-row", "idea-row"):
            self._row = dict(a)
            (self.experiments if a["class"] == "experiment-row" else self.ideas).append(self._row)
        elif tag == "th" and a.get("scope") == "row":
            self._text, self._cell_class = [], "row-head"
        elif tag == "td" and self._row is not None:
            if "data-verdict" in a:
                self._row["verdict"] = a["data-verdict"]
                if self.speedups and self._row.get("class") == "suite-row":
                    self.speedups[-1]["verdict"] = a["data-verdict"]
            self._cell_class = a.get("class", "")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "th" and self._cell_class == "row-head" and self._text is not None:
            self.row_heads.append("".join(self._text).strip())
            self._text, self._cell_class = None, ""
            return
        if tag == "td" and self._row is not None and self._text is not None:
            text = "".join(self._text).strip()
            if "verdict" in self._cell_class.split():
                self._row["verdict_text"] = text
            elif self._cell_class in ("name", "title"):
                self._row["name_text"] = text
            self._text = None
        elif tag == "tr":
            self._row = None


def facts(html: str) -> PageFacts:
    parser = PageFacts()
    parser.feed(html)
    parser.close()
    return parser
