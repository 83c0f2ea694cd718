"""The fixed store and its page, built once per test module (the page is only read by the tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflab.lab.report_session import write_report
from tests.report.html import fixed_store


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """(store URL, page path) of the fixed store."""
    directory = tmp_path_factory.mktemp("report")
    url = fixed_store.build(directory / "store.db")
    page = directory / "report.html"
    write_report(page, db=url)
    return url, page
