"""datasheet.html is one self-contained page: its plots are embedded (no other file to ship), it has
print CSS, and headless Chromium renders it (skipped, with the reason, where Chromium is absent)."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO_ROOT, run_audit

SCRIPT = REPO_ROOT / "examples" / "datasheet_screenshot.py"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html") / "run"
    assert run_audit(REPO_ROOT / "examples" / "sample_corpus", "--output", out) == 0
    return out


def test_the_page_needs_no_other_file(run: Path, tmp_path: Path) -> None:
    page = (run / "datasheet.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert sources and all(src.startswith("data:image/png;base64,") for src in sources)
    assert len(sources) == len(list((run / "plots").glob("*.png")))
    assert "@media print" in page
    moved = tmp_path / "alone.html"  # still whole without the run directory beside it
    shutil.copy(run / "datasheet.html", moved)
    assert "plots/" not in re.sub(r'data:image/png;base64,[A-Za-z0-9+/=]+', "", moved.read_text(encoding="utf-8"))


def _script():
    spec = importlib.util.spec_from_file_location("datasheet_screenshot", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chromium_renders_it(run: Path, tmp_path: Path) -> None:
    script = _script()
    if script.find_browser() is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium): the page is not rendered")
    output = tmp_path / "datasheet.png"
    script.screenshot(run / "datasheet.html", output, height=2000)
    data = output.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
