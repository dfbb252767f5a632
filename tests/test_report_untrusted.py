"""Reports treat every file they read as untrusted, and the run directory owns every file the tool
writes (issue 28, item 6).

* Every file ``report`` / ``datasheet`` (``--format hf-card`` included) writes into a run directory is
  recorded in its manifest with its digest, so ``run --overwrite`` replaces it (and refuses it once edited).
* A table cell of any value (null, NaN, wrong type, huge) never crashes a report: the command exits 0
  (the section then says "not computed: table X unreadable (...)") or 2 with one error line.
* Text from the inputs (folder names, group values, metadata answers, language codes, descriptor names)
  is escaped for the format it lands in (`corpus_audit.escape`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SENTENCES, main, run_audit, write_jsonl
from report_synthetic import make_run

FAST = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


def _errors_or_nothing(capsys) -> list[str]:
    """stderr's lines, asserting no traceback and at most one error line."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert not any("Traceback" in line for line in lines), lines
    assert sum(line.startswith("corpus-audit: error:") for line in lines) <= 1, lines
    return lines


def _manifest(run: Path) -> dict:
    return json.loads((run / "corpus-audit-run.json").read_text())


# ----------------------------------------------------------------------------- the run owns what it writes


@pytest.fixture(scope="module")
def shard(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("input") / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [{"id": str(i), "text": SENTENCES["en"]} for i in range(3)])
    return folder


def _fresh_run(shard: Path, out: Path) -> Path:
    assert run_audit(shard, "--output", out, "--stages", "langid") == 0
    return out


def test_run_overwrite_replaces_svgs_of_report(shard: Path, tmp_path: Path, capsys) -> None:
    run = _fresh_run(shard, tmp_path / "run")
    assert main(["report", str(run), "--svg"]) == 0
    assert (run / "plots" / "languages.svg").exists()
    assert "plots/languages.svg" in _manifest(run)["files"]
    assert run_audit(shard, "--output", run, "--stages", "langid", "--overwrite") == 0, capsys.readouterr().err
    assert not (run / "plots" / "languages.svg").exists() and (run / "plots" / "languages.png").exists()


def test_report_without_svg_drops_the_svgs_from_the_manifest(shard: Path, tmp_path: Path) -> None:
    run = _fresh_run(shard, tmp_path / "run")
    assert main(["report", str(run), "--svg"]) == 0
    assert main(["report", str(run)]) == 0
    assert not (run / "plots" / "languages.svg").exists()
    manifest = _manifest(run)
    assert "plots/languages.svg" not in manifest["files"] and "plots/languages.svg" not in manifest.get("digests", {})
    assert {"plots/languages.png", "datasheet.md", "datasheet.html"} <= set(manifest["digests"])


@pytest.mark.parametrize("card", ["README.md", "CARD.md", "cards/hub.md"])
def test_run_overwrite_replaces_a_card_written_into_the_run(shard: Path, tmp_path: Path, capsys, card: str) -> None:
    run = _fresh_run(shard, tmp_path / "run")
    (run / card).parent.mkdir(parents=True, exist_ok=True)
    assert main(["datasheet", str(run), "--format", "hf-card", "-o", str(run / card)]) == 0
    assert card in _manifest(run)["files"]
    assert run_audit(shard, "--output", run, "--stages", "langid", "--overwrite") == 0, capsys.readouterr().err
    assert not (run / card).exists()


def test_an_edited_report_file_is_never_replaced_by_overwrite(shard: Path, tmp_path: Path, capsys) -> None:
    run = _fresh_run(shard, tmp_path / "run")
    assert main(["report", str(run), "--svg"]) == 0
    (run / "plots" / "languages.svg").write_text("<svg>mine</svg>")
    assert run_audit(shard, "--output", run, "--stages", "langid", "--overwrite") == 2
    assert "edited" in capsys.readouterr().err
    assert (run / "plots" / "languages.svg").read_text() == "<svg>mine</svg>"


def test_a_card_never_takes_the_manifest_or_lock_name(shard: Path, tmp_path: Path, capsys) -> None:
    run = _fresh_run(shard, tmp_path / "run")
    for name in ("corpus-audit-run.json", "corpus-audit.lock"):
        before = (run / name).read_bytes() if (run / name).exists() else None
        assert main(["datasheet", str(run), "--format", "hf-card", "-o", str(run / name)]) == 2
        _errors_or_nothing(capsys)
        assert ((run / name).read_bytes() if (run / name).exists() else None) == before
