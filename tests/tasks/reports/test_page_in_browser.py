"""The report page in a real headless Chromium, opened from a file as a user would: every chart
renders, and the page logs nothing to the console."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from report_tables import crafted_tables

from hhcast.config import ReportSettings
from tasks.reports.report import build_report, render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WINDOW = (1000, 2600)

pytestmark = [
    pytest.mark.slow,  # Chromium's start and the virtual time it waits: about 6 s
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium on PATH: install Debian's `chromium` package to run this test",
    ),
]


def open_in_chromium(page: Path, screenshot: Path, profile: Path) -> tuple[str, str]:
    """The DOM once the page's scripts have run, and Chromium's log (console lines included)."""
    done = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "--virtual-time-budget=20000", "--enable-logging=stderr", "--v=0",
            f"--screenshot={screenshot}", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=180, check=True,
    )  # fmt: skip
    return done.stdout, done.stderr


def chart_dom(dom: str, key: str) -> str:
    """The markup of one chart's element."""
    start = dom.index(f'id="chart-{key}"')
    following = dom.find('id="chart-', start + 1)
    return dom[start : following if following > 0 else len(dom)]


def test_every_chart_renders_in_chromium_without_a_console_message(tmp_path):
    page = tmp_path / "report.html"
    now = datetime(2022, 3, 7, 8, tzinfo=UTC)
    page.write_text(
        render_html(build_report(crafted_tables(), ReportSettings(), [4, 13, 26], now)),
        encoding="utf-8",
    )
    screenshot = tmp_path / "report.png"
    dom, log = open_in_chromium(page, screenshot, tmp_path / "profile")

    assert re.search(r'<body[^>]*data-rendered="4"', dom), "the charts did not all render"
    drawn = {
        "forecast": ["mark-area", "mark-line", "mark-rule"],
        "errors": ["mark-line", "mark-rule"],
        "drift": ["mark-line", "mark-symbol", "mark-rule"],
        "champions": ["mark-rect", "mark-symbol", "mark-text"],
    }
    for key, marks in drawn.items():
        markup = chart_dom(dom, key)
        assert '<svg class="marks"' in markup or 'class="marks"' in markup, key
        for mark in marks:
            assert f'class="mark-{mark.removeprefix("mark-")} role-mark' in markup, (key, mark)
        assert "<path" in markup
    assert "No champion yet" not in dom and "No drift measured" not in dom
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert console == []

    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == WINDOW
    # a page of text and four charts; a blank or unstyled page compresses to a few KB
    assert len(png) > 50_000
