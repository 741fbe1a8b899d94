"""`kernlab lab … --html FILE` opened in headless chromium, in English and Korean: the page
renders offline, every figure draws, and what the figures plot is what the same run's --json
measured (itself checked against the kernel in tests/reports/test_labs.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_html_browser import _check, _open, browser  # noqa: F401
from tests.cli.test_lab_cli import _english_sentences
from tests.conftest import is_root, run_kernlab


def _lab(tmp_path: Path, lang: str, *args: str) -> tuple[dict[str, Any], Path]:
    page = tmp_path / f"{args[0]}-{lang}.html"
    result = run_kernlab("--lang", lang, "lab", *args, "--json", "--html", str(page), timeout=300)
    assert result.code == 0, result.stderr
    assert str(page) in result.stderr  # it says where the page is
    return json.loads(result.stdout), page


def _data(driver: Any, index: int) -> list[dict[str, Any]]:
    return driver.execute_script(
        f"return document.querySelectorAll('.plotly-graph-div')[{index}].data"
        ".map(t => ({type: t.type, x: t.x, y: t.y, z: t.z}));"
    )


def _no_english(page: Path, seen: dict[str, Any]) -> None:
    doc = page.read_text()
    found = [f for f in _english_sentences() if f in seen["text"] or f in doc]
    assert not found, found


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_lazy_alloc_page(browser, tmp_path, lang):  # noqa: F811
    data, page = _lab(tmp_path, lang, "lazy-alloc", "--size", "16M", "--steps", "4")
    shot = tmp_path / f"lazy-{lang}.png"
    seen = _open(browser, page, shot)
    _check(seen, page, shot)
    assert len(seen["figures"]) == 1
    traces = _data(browser, 0)
    lines = [t for t in traces if t["type"] == "scatter"][: len(data["regions"])]
    heatmaps = [t for t in traces if t["type"] == "heatmap"]
    assert len(heatmaps) == len(data["regions"])
    for region, line, heat in zip(data["regions"], lines, heatmaps, strict=True):
        steps = region["steps"]
        assert line["x"] == pytest.approx([0] + [s["touched"] / 2**20 for s in steps])
        growth = [(s["rss_kib"] - region["alloc"]["rss_after_kib"]) / 1024 for s in steps]
        assert line["y"] == pytest.approx([0, *growth])
        # pagemap's strip at each step, as the report read it; the last step has every page
        assert heat["z"] == [list(s["strip"]) for s in steps]
        assert all(cell == 1 for cell in heat["z"][-1])
    if lang == "ko":
        _no_english(page, seen)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_mmap_vs_read_page(browser, tmp_path, lang):  # noqa: F811
    data, page = _lab(tmp_path, lang, "mmap-vs-read", "--size", "4M")
    shot = tmp_path / f"mmap-{lang}.png"
    seen = _open(browser, page, shot)
    _check(seen, page, shot)
    assert len(seen["figures"]) == 1
    traces = _data(browser, 0)
    runs = data["runs"]
    assert traces[0]["y"] == pytest.approx([r["time_ns"] / 1e6 for r in runs])
    majors = [r["data_major"] if r["traced"] else r["rusage_major"] for r in runs]
    minors = [r["data_minor"] if r["traced"] else r["rusage_minor"] for r in runs]
    assert traces[1]["y"] == majors and traces[2]["y"] == minors
    assert traces[3]["y"] == [r["pages_added"] or 0 for r in runs]
    if is_root():  # recorded: system calls too, and each run's kernel path as a listing
        assert traces[4]["y"] == [r["syscalls"] for r in runs]
        for run in runs:
            if run["kernel_path"]:
                assert "\n  → ".join(run["kernel_path"]) in page.read_text()
    # hello_mmap's bytes, as read back from the file
    assert data["shared_write"]["after"] in seen["text"]
    if lang == "ko":
        _no_english(page, seen)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_syscall_path_page(browser, tmp_path, lang):  # noqa: F811
    data, page = _lab(tmp_path, lang, "syscall-path", "read")
    shot = tmp_path / f"path-{lang}.png"
    seen = _open_any(browser, page, shot)
    live = data["live"]
    if live is None:  # not root: no call was made live, the page has no figure
        assert seen["figures"] == []
    else:
        _check(seen, page, shot)
        icicle = browser.execute_script(
            "const t = document.querySelectorAll('.plotly-graph-div')[0].data[0];"
            "return {labels: t.labels, parents: t.parents};"
        )
        stacks = [s for s in (live["entry"], *live["inside"], live["exit"]) if s]
        # every function of every recorded stack is a box, under the function that called it
        for s in stacks:
            for caller, callee in zip(s["stack"], s["stack"][1:], strict=False):
                assert callee in icicle["labels"]
                assert any(
                    label == callee and parent.endswith("/" + caller)
                    for label, parent in zip(icicle["labels"], icicle["parents"], strict=True)
                )
    assert f"{data['number']:#x}" in seen["text"] or str(data["number"]) in seen["text"]
    if lang == "ko":
        _no_english(page, seen)


def _open_any(driver: Any, page: Path, shot: Path) -> dict[str, Any]:
    """Like _open, for a page that may have no figure."""
    if 'class="plotly-graph-div"' in page.read_text():
        return _open(driver, page, shot)
    driver.get(page.as_uri())
    return {"figures": [], "text": driver.execute_script("return document.body.innerText")}
