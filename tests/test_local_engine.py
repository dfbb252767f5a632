"""The in-process engine (``--runner local``, the default for one worker): no Beam import, the
same outputs as Beam's DirectRunner, and clear refusals of what only Beam can run.

Byte-identical tables, documents and skip records against every DirectRunner mode are checked
in tests/test_determinism.py; this file checks what is particular to the engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SENTENCES, assert_balanced, main, read_skipped, read_summary, run_audit, write_jsonl

ROOT = Path(__file__).resolve().parent.parent


def _corpus(tmp_path: Path) -> Path:
    records: list = [{"id": f"d{i}", "text": SENTENCES[lang], "source": f"s{i % 2}"}
                     for i, lang in enumerate(sorted(SENTENCES) * 2)]
    records.insert(3, b'{"id": "broken", "text": \n')
    records.insert(6, {"id": "blank", "text": "   "})
    return write_jsonl(tmp_path / "corpus.jsonl", records)


def _error_line(capsys) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_a_default_run_imports_no_beam(tmp_path: Path) -> None:
    """The fixed cost of a small run: ``import apache_beam`` alone is about 2 s."""
    shard = _corpus(tmp_path)
    out = tmp_path / "out"
    code = (
        "import sys\n"
        "from corpus_audit.cli import main\n"
        f"code = main(['run', {str(shard)!r}, '--output', {str(out)!r}, '--quiet'])\n"
        "print('BEAM=' + str('apache_beam' in sys.modules) + ' CODE=' + str(code))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "BEAM=False CODE=0" in proc.stdout, proc.stdout + proc.stderr
    summary = read_summary(out)
    assert summary["settings"]["runner"] == "local"
    assert_balanced(summary)


def test_skips_are_written_where_beam_writes_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_audit(_corpus(tmp_path), "--output", out) == 0
    assert sorted(p.name for p in (out / "skipped").iterdir()) == ["skipped-00000-of-00001.jsonl"]
    assert sorted(r["reason"] for r in read_skipped(out)) == ["empty_text", "malformed_json"]
    summary = read_summary(out)
    assert summary["documents_skipped"] == {"empty_text": 1, "malformed_json": 1}
    assert summary["documents_analysed"] == 2 * len(SENTENCES)
    assert not list(out.rglob("*.tmp"))


def test_limit_reads_the_same_records_as_beam(tmp_path: Path) -> None:
    shard = _corpus(tmp_path)
    local, beam = tmp_path / "local", tmp_path / "beam"
    assert run_audit(shard, "--output", local, "--limit", "5", "--group-by", "source") == 0
    assert run_audit(shard, "--output", beam, "--limit", "5", "--group-by", "source", "--runner", "DirectRunner") == 0
    assert read_summary(local)["settings"]["runner"] == "local"
    assert read_summary(beam)["settings"]["runner"] == "DirectRunner"
    assert read_summary(local)["documents_read"] == 5
    for path in sorted((beam / "tables").iterdir()):
        assert (local / "tables" / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("extra, reason", [
    (["--workers", "2"], "2 workers"),
    (["--dry-run"], "a --dry-run"),
    (["--direct_running_mode", "in_memory"], "Beam pipeline options (--direct_running_mode in_memory)"),
])
def test_local_refuses_what_only_beam_runs(tmp_path: Path, capsys, extra: list[str], reason: str) -> None:
    out = tmp_path / "out"
    assert main(["run", str(_corpus(tmp_path)), "--output", str(out), "--runner", "local", *extra]) == 2
    line = _error_line(capsys)
    assert f"--runner local runs in this process and cannot run {reason}" in line, line
    assert "use --runner DirectRunner" in line
    assert not out.exists()


def test_an_interrupted_local_run_leaves_no_partial_file(tmp_path: Path, monkeypatch, capsys) -> None:
    """Ctrl-C in the middle of the in-process engine: exit 130, the manifest says interrupted,
    and no temporary documents or skip file is left behind."""
    from corpus_audit.transforms.pronouns import Pronouns

    calls = {"n": 0}
    original = Pronouns.annotate

    def interrupt_on_second_batch(self, batch, columns):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, batch, columns)

    monkeypatch.setattr(Pronouns, "annotate", interrupt_on_second_batch)
    out = tmp_path / "out"
    assert main(["run", str(_corpus(tmp_path)), "--output", str(out), "--quiet", "--batch-documents", "3",
                 "--stages", "langid,pronouns"]) == 130
    assert "interrupted" in capsys.readouterr().err
    manifest = json.loads((out / "corpus-audit-run.json").read_text())
    assert manifest["status"] == "interrupted"
    assert not list(out.rglob("*.tmp"))
    assert not (out / "summary.json").exists()
