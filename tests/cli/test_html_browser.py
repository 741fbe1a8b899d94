"""`kernlab tour --html` and `kernlab report --html` opened in a real headless browser (Debian's
chromium and chromium-driver, driven by selenium through /usr/bin/chromedriver, so nothing is
downloaded): the page renders, every figure has its SVG, the console has no error, no request
leaves the file, and a screenshot of each page in each language is kept in the artifacts folder
($KERNLAB_ARTIFACTS, else tests/artifacts/). The Korean page's Hangul must be drawn with a real
font: two syllables whose pixels differ from each other and from the box of a missing glyph."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_tour_cli import _english_fragments
from tests.conftest import is_root, need_tool, run_kernlab

webdriver = pytest.importorskip("selenium.webdriver")

ARTIFACTS = Path(os.environ.get("KERNLAB_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))
"""Where the screenshots are kept after the run (pytest prunes its tmp_path folders)."""
NO_HANGUL_FONT = "no Hangul font (.ci/run installs fonts-nanum)"
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


@contextlib.contextmanager
def _chromium(env: dict[str, str] | None = None) -> Iterator[Any]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="kernlab-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, env={**os.environ, **env} if env else None)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with _chromium() as driver:
        yield driver


@pytest.fixture
def keep(record_property: Callable[[str, object], None]) -> Callable[[str], Path]:
    """The path a screenshot is kept at (the artifacts folder, made when missing); the test's
    output says where (stderr, shown with -rA, and the JUnit XML's properties)."""

    def path(name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / name
        record_property("screenshot", str(shot))
        print(f"screenshot: {shot}", file=sys.stderr)
        return shot

    return path


def _hangul_fonts() -> set[str]:
    """The families fontconfig knows that cover Korean (fc-list :lang=ko); empty: none."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return set()
    out = subprocess.run([fc_list, ":lang=ko", "family"], capture_output=True, text=True, check=False).stdout
    return {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}


# Draw two Hangul syllables and a code point no font has (U+0378, unassigned) on a canvas in the
# font of the first element holding Hangul. A real glyph has ink, and two syllables differ from
# each other and from the box of a missing glyph; without a Hangul font all three are that box.
HANGUL_PROBE = """
const el = Array.from(document.querySelectorAll(arguments[0]))
  .find(e => /[\uac00-\ud7a3]/.test(e.textContent));
if (!el) return null;
const canvas = document.createElement('canvas');
canvas.width = 160; canvas.height = 60;
const ctx = canvas.getContext('2d', {willReadFrequently: true});
ctx.font = '40px ' + getComputedStyle(el).fontFamily;
ctx.textBaseline = 'top';
const draw = (t) => {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.fillText(t, 4, 4);
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0, sig = 0;
  for (let i = 3; i < px.length; i += 4) {
    if (px[i]) { ink++; sig = (sig * 31 + i * px[i]) % 1000000007; }
  }
  return {ink: ink, sig: sig, width: ctx.measureText(t).width};
};
return {text: el.textContent.slice(0, 60), ga: draw('\uac00'), na: draw('\ub098'),
        missing: draw('\u0378')};
"""


def _hangul_drawn(browser: Any, selector: str = "h1, h2, p") -> tuple[bool, dict[str, Any]]:
    """Whether the page's Hangul is drawn with real glyphs (see HANGUL_PROBE), and the figures."""
    seen = browser.execute_script(HANGUL_PROBE, selector)
    assert seen is not None, "no element with Hangul on the page"
    ga, na, missing = seen["ga"], seen["na"], seen["missing"]
    real = ga["ink"] > 0 and ga["sig"] != na["sig"] and missing["sig"] not in (ga["sig"], na["sig"])
    return real, seen


def _platform_fonts(browser: Any, selector: str) -> set[str]:
    """The fonts chromium drew an element's text with (DevTools CSS.getPlatformFontsForNode)."""
    browser.execute_cdp_cmd("DOM.enable", {})
    browser.execute_cdp_cmd("CSS.enable", {})
    root = browser.execute_cdp_cmd("DOM.getDocument", {})["root"]["nodeId"]
    node = browser.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = browser.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {f["familyName"] for f in fonts}


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
def test_tour_html_renders_offline(browser, tmp_path, keep, lang):
    hangul_fonts = _hangul_fonts()
    if lang == "ko" and not hangul_fonts:
        pytest.skip(NO_HANGUL_FONT)
    page = tmp_path / f"tour-{lang}.html"
    result = run_kernlab("--lang", lang, "tour", "--html", str(page), timeout=180)
    assert result.code == 0, result.stderr
    assert str(page) in result.stderr  # it says where the file is
    screenshot = keep(f"tour-{lang}.png")
    seen = _open(browser, page, screenshot)
    _check(seen, page, screenshot)
    # the ELF layout, the address space, the meminfo breakdown and the four runs of mmap vs
    # read, and as root the recording's system calls, fault timeline and call tree
    # (calltree.py's, as report --html draws it)
    assert len(seen["figures"]) == (7 if is_root() else 4)
    if lang == "ko":
        # Hangul drawn with a real glyph (not the box of a missing one), by a font that covers Korean
        drawn, probe = _hangul_drawn(browser)
        assert drawn, probe
        used = _platform_fonts(browser, "h1")
        assert used & hangul_fonts, (used, sorted(hangul_fonts))
        # the page as shown and the file (figure titles and hover texts are in its scripts)
        doc = page.read_text()
        found = sorted(p for p in _english_fragments() if p in seen["text"] or p in doc)
        assert not found, found
        assert "썼습니다" in result.stderr


def test_report_html_renders_offline(browser, tmp_path, keep):
    if not is_root():
        pytest.skip("recording needs root")
    data = tmp_path / "ls.data"
    recorded = run_kernlab("record", "-d", str(data), "--", "ls", "-la", "/usr")
    assert recorded.code == 0, recorded.stderr
    page = tmp_path / "report.html"
    result = run_kernlab("report", "-d", str(data), "--html", str(page))
    assert result.code == 0, result.stderr
    screenshot = keep("report-en.png")
    seen = _open(browser, page, screenshot)
    _check(seen, page, screenshot)
    assert len(seen["figures"]) == 2  # system calls, page-fault timeline
    # the system-call table as HTML: the same calls `kernlab report --json` counts
    counted = run_kernlab("report", "-d", str(data), "--json").json()
    rows = counted["syscalls"]["combined"]["rows"]  # type: ignore[index]
    doc = page.read_text()
    for row in rows:
        if row["calls"]:
            assert f"<td >{row['name']}</td>" in doc


def test_the_hangul_check_tells_glyphs_from_missing_ones(browser, tmp_path):
    """The check above, on a small page: true with this machine's fonts, false in a chromium
    whose fontconfig knows only a folder of fonts without Hangul (the screenshot would show boxes)."""
    hangul_fonts = _hangul_fonts()
    if not hangul_fonts:
        pytest.skip(NO_HANGUL_FONT)
    fc_list = need_tool("fc-list")
    listed = subprocess.run([fc_list, ":", "file"], capture_output=True, text=True, check=True).stdout
    korean = subprocess.run([fc_list, ":lang=ko", "file"], capture_output=True, text=True, check=True).stdout
    folders = {Path(line.rstrip(":")).parent for line in listed.splitlines() if line.strip()}
    korean_folders = {Path(line.rstrip(":")).parent for line in korean.splitlines() if line.strip()}
    latin = sorted(folders - korean_folders)
    if not latin:
        pytest.skip("every font folder here holds a Hangul font")
    page = tmp_path / "hangul.html"
    page.write_text(
        '<!doctype html><meta charset="utf-8"><body style="font-family: sans-serif">'
        "<p>커널의 페이지 캐시</p></body>",
        encoding="utf-8",
    )
    browser.get(page.as_uri())
    drawn, probe = _hangul_drawn(browser, "p")
    assert drawn, probe
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{latin[0]}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>"
    )
    with _chromium({"FONTCONFIG_FILE": str(config)}) as bare:
        bare.get(page.as_uri())
        drawn, probe = _hangul_drawn(bare, "p")
        assert not drawn, probe
        assert not _platform_fonts(bare, "p") & hangul_fonts
