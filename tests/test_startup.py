"""Commands other than ``run`` start without the heavy libraries (issue 17: fast start-up).

Each check runs in a fresh interpreter, since this test process has imported them already.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("apache_beam", "pyarrow", "matplotlib", "torch", "transformers", "jieba")
ROOT = Path(__file__).resolve().parent.parent


def _heavy_modules_after(argv: list[str]) -> list[str]:
    code = (
        "import sys\n"
        "from corpus_audit.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = [line for line in proc.stdout.splitlines() if line.startswith("HEAVY=")][-1]
    return [name for name in line.removeprefix("HEAVY=").split(",") if name]


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["compare", "--help"], ["report", "--help"],
                                  ["datasheet", "--help"]])
def test_commands_other_than_run_import_no_heavy_library(argv: list[str]) -> None:
    assert _heavy_modules_after(argv) == []


def test_run_parser_still_has_every_stage_option() -> None:
    from corpus_audit.cli import build_parser

    args, _ = build_parser().parse_known_args(["run", "in.jsonl", "--output", "out", "--stages", "langid"])
    assert args.command == "run" and args.stages == "langid" and args.workers == 1


def test_light_parser_lists_the_same_commands() -> None:
    from corpus_audit.cli import build_parser

    full, light = build_parser().format_help(), build_parser(run_options=False).format_help()
    assert full == light
