"""Commands start without the libraries they do not need (issue 17: fast start-up).

Commands other than ``run``, and ``run --help``, import none of the heavy libraries; a run
whose toxicity model is unavailable imports neither torch nor transformers. Each check runs
in a fresh interpreter, since this test process has imported them already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("apache_beam", "pyarrow", "matplotlib", "torch", "transformers", "jieba")
ROOT = Path(__file__).resolve().parent.parent


def _run_fresh(argv: list[str], watched: tuple[str, ...] = HEAVY,
               env: dict[str, str] | None = None) -> tuple[list[str], str]:
    """(the ``watched`` modules imported by ``main(argv)`` in a fresh interpreter, its stdout)."""
    code = (
        "import sys\n"
        "from corpus_audit.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {watched!r} if m in sys.modules))\n"
    )
    env = {**os.environ, **(env or {}),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    line = [line for line in proc.stdout.splitlines() if line.startswith("HEAVY=")][-1]
    return [name for name in line.removeprefix("HEAVY=").split(",") if name], proc.stdout


def _heavy_modules_after(argv: list[str]) -> list[str]:
    return _run_fresh(argv)[0]


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["compare", "--help"], ["report", "--help"],
                                  ["datasheet", "--help"]])
def test_commands_other_than_run_import_no_heavy_library(argv: list[str]) -> None:
    assert _heavy_modules_after(argv) == []


def test_run_parser_still_has_every_stage_option() -> None:
    from corpus_audit.cli import build_parser

    args, _ = build_parser().parse_known_args(["run", "in.jsonl", "--output", "out", "--stages", "langid"])
    assert args.command == "run" and args.stages == ("langid",) and args.workers == "auto"


def test_light_parser_lists_the_same_commands() -> None:
    from corpus_audit.cli import build_parser

    full, light = build_parser().format_help(), build_parser(run_options=False).format_help()
    assert full == light


def test_run_help_imports_no_heavy_library_and_lists_every_stage_option() -> None:
    from corpus_audit.transforms import STAGES

    heavy, help_text = _run_fresh(["run", "--help"])
    assert heavy == []
    # One option of each stage's own group, and the stage list itself.
    for option in ("--langid-model", "--pronoun-lexicon", "--holistic-bias-descriptors", "--gender-gap-lexicon",
                   "--toxicity-model", "--workers", "--checkpoint-dir"):
        assert option in help_text, option
    assert ",".join(STAGES) in help_text


def test_run_without_a_toxicity_model_imports_neither_torch_nor_transformers(tmp_path: Path) -> None:
    corpus = tmp_path / "in.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "She said he would come back tomorrow."}) + "\n",
                      encoding="utf-8")
    out = tmp_path / "out"
    heavy, _ = _run_fresh(["run", str(corpus), "--output", str(out), "--stages", "langid,toxicity", "--quiet"],
                          ("torch", "transformers", "apache_beam"),
                          env={"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty-hf-cache")})
    assert heavy == []  # (the in-process engine: no Beam either)
    toxicity = json.loads((out / "summary.json").read_text(encoding="utf-8"))["stages"]["toxicity"]
    assert toxicity["status"] == "not_computed"
    assert toxicity["reason"] == ("cannot load toxicity model tomh/toxigen_hatebert: not in the local cache; "
                                  "the Hugging Face hub is unreachable (offline or HF_HUB_OFFLINE set)")


def test_hub_cache_check_sees_a_cached_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    from corpus_audit.transforms.toxicity_model import hub_cache_may_hold

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert not hub_cache_may_hold("org/model")
    snapshot = tmp_path / "models--org--model" / "snapshots" / "0123abc"
    snapshot.mkdir(parents=True)
    assert not hub_cache_may_hold("org/model")  # a snapshot without config.json cannot load
    (snapshot / "config.json").write_text("{}", encoding="utf-8")
    assert hub_cache_may_hold("org/model") and not hub_cache_may_hold("org/other")


def test_lazy_module_imports_on_first_attribute() -> None:
    code = ("import sys\n"
            "from corpus_audit.lazy import LazyMapping, lazy_module\n"
            "wave = lazy_module('wave')\n"
            "assert 'wave' not in sys.modules\n"
            "assert wave.Error.__module__ == 'wave' and 'wave' in sys.modules\n"
            "calls = []\n"
            "table = LazyMapping(lambda: calls.append(1) or {'b': 2, 'a': 1})\n"
            "assert calls == []\n"
            "assert list(table) == ['b', 'a'] and table['a'] == 1 and len(table) == 2 and calls == [1]\n"
            "print('OK')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr
