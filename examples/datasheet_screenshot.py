#!/usr/bin/env python
"""Write a screenshot of a run's datasheet.html for a person to look at (headless Chromium).

    python examples/datasheet_screenshot.py RUN_DIR [--output datasheet.png] [--width 1200] [--height 3000]

Needs Chromium (Debian: ``apt-get install chromium``). The page is self-contained (its plots are
embedded), so nothing but the file is loaded; the network stays off.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def screenshot(page: Path, output: Path, width: int = 1200, height: int = 3000, timeout: float = 120) -> None:
    """``page`` rendered by headless Chromium into the PNG ``output``."""
    browser = find_browser()
    if browser is None:
        raise RuntimeError("no Chromium found (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="corpus-audit-chromium-") as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        f"--screenshot={output.resolve()}", page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--output", type=Path, default=Path("datasheet.png"))
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args()
    page = args.run_dir / "datasheet.html"
    if not page.is_file():
        print(f"no datasheet.html in {args.run_dir} (run `corpus-audit report {args.run_dir}`)", file=sys.stderr)
        return 2
    screenshot(page, args.output, args.width, args.height)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
