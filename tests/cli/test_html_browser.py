"""`kernlab tour --html` and `kernlab report --html` opened in a real headless browser (Debian's
chromium and chromium-driver, driven by selenium through /usr/bin/chromedriver, so nothing is
downloaded): the page renders, every figure has its SVG, the console has no error, no request
leaves the file, and a screenshot is kept in the test's folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_tour_cli import _english_fragments
from tests.conftest import is_root, run_kernlab

webdriver = pytest.importorskip("selenium.webdriver")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # as root chromium refuses to start with its sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="kernlab-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(browser: Any, page: Path, screenshot: Path) -> dict[str, Any]:
    """Load the page, wait for plotly to draw, and return what the checks need."""
    browser.get_log("browser")  # empty the log of the previous page
    browser.get(page.as_uri())
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script(
            "return Array.from(document.querySelectorAll('.plotly-graph-div'))"
            ".every(e => e.querySelector('svg.main-svg'))"
        )
    )
    seen = browser.execute_script(
        """return {
          figures: Array.from(document.querySelectorAll('.plotly-graph-div'))
                        .map(e => e.querySelectorAll('svg.main-svg').length),
          resources: performance.getEntriesByType('resource').map(e => e.name),
          navigation: performance.getEntriesByType('navigation').map(e => e.name),
          text: document.body.innerText,
          height: document.body.scrollHeight,
        }"""
    )
    browser.set_window_size(1400, min(int(seen["height"]) + 100, 12000))
    assert browser.save_screenshot(str(screenshot))
    seen["console"] = browser.get_log("browser")
    return seen


def _check(seen: dict[str, Any], page: Path, screenshot: Path) -> None:
    doc = page.read_text()
    assert doc.count("plotly.js v") == 1  # plotly's bundle once, however many figures
    assert len(seen["figures"]) == doc.count('class="plotly-graph-div"') > 0
    assert all(n > 0 for n in seen["figures"]), seen["figures"]  # every figure drew its SVG
    assert not [e for e in seen["console"] if e["level"] in ("SEVERE", "WARNING")], seen["console"]
    assert seen["resources"] == []  # no script, style, font or image fetched
    assert seen["navigation"] == [page.as_uri()]
    assert screenshot.stat().st_size > 10_000


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_tour_html_renders_offline(browser, tmp_path, lang):
    page = tmp_path / f"tour-{lang}.html"
    result = run_kernlab("--lang", lang, "tour", "--html", str(page), timeout=180)
    assert result.code == 0, result.stderr
    assert str(page) in result.stderr  # it says where the file is
    seen = _open(browser, page, tmp_path / f"tour-{lang}.png")
    _check(seen, page, tmp_path / f"tour-{lang}.png")
    # the ELF layout, the address space and the meminfo breakdown, and as root the recording's
    # system calls, fault timeline and call tree (calltree.py's, as report --html draws it)
    assert len(seen["figures"]) == (6 if is_root() else 3)
    if lang == "ko":
        # the page as shown and the file (figure titles and hover texts are in its scripts)
        doc = page.read_text()
        found = sorted(p for p in _english_fragments() if p in seen["text"] or p in doc)
        assert not found, found
        assert "썼습니다" in result.stderr


def test_report_html_renders_offline(browser, tmp_path):
    if not is_root():
        pytest.skip("recording needs root")
    data = tmp_path / "ls.data"
    recorded = run_kernlab("record", "-d", str(data), "--", "ls", "-la", "/usr")
    assert recorded.code == 0, recorded.stderr
    page = tmp_path / "report.html"
    result = run_kernlab("report", "-d", str(data), "--html", str(page))
    assert result.code == 0, result.stderr
    seen = _open(browser, page, tmp_path / "report.png")
    _check(seen, page, tmp_path / "report.png")
    assert len(seen["figures"]) == 2  # system calls, page-fault timeline
    # the system-call table as HTML: the same calls `kernlab report --json` counts
    counted = run_kernlab("report", "-d", str(data), "--json").json()
    rows = counted["syscalls"]["combined"]["rows"]  # type: ignore[index]
    doc = page.read_text()
    for row in rows:
        if row["calls"]:
            assert f"<td >{row['name']}</td>" in doc
