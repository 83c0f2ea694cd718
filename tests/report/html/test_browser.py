"""The page in a real headless Chromium (Debian's, driven by playwright; no browser is downloaded):
it loads from file:// with no console error and no request but its own, shows its sections, tables
and plots, renders hostile command names as text and runs nothing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.report.html.fixed_store import IMG_NAME, SCRIPT_NAME

CHROMIUM = os.environ.get("PERFLAB_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ARTEFACTS = Path(os.environ.get("PERFLAB_TEST_ARTEFACTS", Path(__file__).parents[3] / "test-artefacts"))

# A missing browser fails these tests (never a skip counted as a pass): .ci/system-deps installs chromium,
# the test extra installs playwright.
from playwright import sync_api  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _chromium_present() -> None:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} missing: .ci/system-deps installs Debian's chromium", pytrace=False)


@pytest.fixture(scope="module")
def loaded(fixed: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """The fixed store's page opened in Chromium, with everything it logged, requested and popped up."""
    _, page_path = fixed
    events: dict[str, list] = {"console": [], "requests": [], "dialogs": [], "errors": []}
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=FLAGS, viewport={"width": 1280, "height": 900}, offline=True)
        try:
            page = context.new_page()
            page.on("console", lambda m: events["console"].append((m.type, m.text)))
            page.on("request", lambda r: events["requests"].append(r.url))
            page.on("pageerror", lambda e: events["errors"].append(str(e)))
            page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
            page.goto(page_path.as_uri(), wait_until="load")
            page.wait_for_timeout(300)  # an injected handler (onerror, onload) would have fired by now
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / "report-fixed-store.png"), full_page=True)
            yield page, events, page_path
        finally:
            context.close()


def test_loads_offline_without_errors_or_requests(loaded) -> None:
    page, events, page_path = loaded
    assert [m for m in events["console"] if m[0] in ("error", "warning")] == []
    assert events["errors"] == []
    assert events["requests"] == [page_path.as_uri()]
    assert page.title().startswith("perflab report")


def test_sections_tables_and_plots_are_present(loaded) -> None:
    page, _, _ = loaded
    headings = page.locator("main h2").all_inner_texts()
    assert headings == ["Overview", "Experiments and ideas", "Suites", "History", "Benchmarks", "Comparisons",
                        "Tuning trials (tune try)", "Kernel and crypto throughput", "Vector search (anns)"]
    for anchor in ("overview", "method", "suites", "history", "benchmarks", "comparisons", "tune-try",
                   "crypto", "anns"):
        assert page.locator(f"nav a[href='#{anchor}']").count() == 1
    assert page.locator("table.commands").count() == 7
    assert page.locator("table.suite-table tr.total").count() == 2
    assert page.locator("table.history-table").count() == 8  # 2 benchmarks × 2 inputs × 2 variants
    assert page.locator("table.comparisons tr.comparison").count() >= 3
    svgs = page.locator("figure svg[role=img]")
    assert svgs.count() == 15  # 7 results' samples, comparisons, trials, crypto, 2 suites, 2 histories, anns
    box = svgs.first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100  # drawn, not an empty element
    assert page.locator("details").count() >= 4


def test_hostile_names_are_text_and_run_nothing(loaded) -> None:
    page, events, _ = loaded
    names = page.locator("table.commands td.name").all_inner_texts()
    assert SCRIPT_NAME in names and IMG_NAME in names
    assert SCRIPT_NAME in page.locator("table.ideas td.title").all_inner_texts()
    assert events["dialogs"] == []
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.images.length") == 0
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0


def test_environment_is_collapsed_until_opened(loaded) -> None:
    page, _, _ = loaded
    details = page.locator("details.kv").first
    assert not details.locator("table").is_visible()
    details.locator("summary").click()
    assert details.locator("table").is_visible()


def test_the_page_policy_blocks_markup_escaping_would_have_missed(loaded, tmp_path: Path) -> None:
    """Negative control: a copy of the page with an injected script and image. The page's own
    Content-Security-Policy stops the script (no dialog), and the harness sees the attempted request and
    the policy's console error, so the clean-page test above would have caught an escaping bug."""
    page, _, page_path = loaded
    hostile = tmp_path / "injected.html"
    hostile.write_text(page_path.read_text().replace(
        "<main>", '<main><script>alert("ran")</script><img src="https://example.invalid/x.png">', 1))
    seen: dict[str, list] = {"console": [], "dialogs": [], "requests": []}
    other = page.context.new_page()
    try:
        other.on("console", lambda m: seen["console"].append(m.type))
        other.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
        other.on("request", lambda r: seen["requests"].append(r.url))
        other.goto(hostile.as_uri(), wait_until="load")
        other.wait_for_timeout(300)
    finally:
        other.close()
    assert seen["dialogs"] == []
    assert seen["requests"] == [hostile.as_uri(), "https://example.invalid/x.png"]
    assert "error" in seen["console"]  # the policy reports what it blocked
