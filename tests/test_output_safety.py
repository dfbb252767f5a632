"""Security: whatever the shard names and fields, a run writes only inside --output
(and --checkpoint-dir), under sanitised file names."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import SENTENCES, assert_balanced, read_documents, read_summary, run_audit, write_jsonl

ODD_NAMES = ["..jsonl", "...jsonl", "..\\..\\evil.jsonl", "a;b $(touch pwned) `x`.jsonl", "ünï cödé 名前.jsonl",
             "-dash--.jsonl", "new\nline.jsonl", "%2e%2e%2fescape.jsonl", "." * 200 + ".jsonl"]
SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


def _files(root: Path) -> set[str]:
    return {os.path.join(d, f) for d, _, files in os.walk(root) for f in files}


def test_odd_shard_names_and_fields_stay_inside_the_output(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus" / "deep"
    corpus.mkdir(parents=True)
    shards = []
    for i, name in enumerate(ODD_NAMES):
        shards.append(write_jsonl(corpus / name, [{"text": SENTENCES["en"], "../../grp": f"g{i}"},
                                                  b"{bad\n"]))
    via_parent = str(tmp_path / "corpus" / "deep" / ".." / "deep" / "-dash--.jsonl")
    before = _files(tmp_path)
    out = tmp_path / "work" / "out"
    checkpoints = tmp_path / "work" / "ck"
    assert run_audit(*shards, via_parent, "--output", out, "--group-by", "../../grp",
                     "--checkpoint-dir", checkpoints) == 0
    created = _files(tmp_path) - before
    assert created and all(path.startswith(f"{out}{os.sep}") or path.startswith(f"{checkpoints}{os.sep}")
                           for path in created), sorted(created)
    for path in created:
        assert SAFE_NAME.match(os.path.basename(path)), path
        assert os.path.realpath(path) == path  # no link followed out
    summary = read_summary(out)
    assert_balanced(summary)
    assert summary["documents_analysed"] == len(ODD_NAMES)  # the name given twice is read once
    assert len({Path(p).name for p in (out / "documents").iterdir()}) == len(ODD_NAMES)
    assert sorted(Path(d["shard"]).name for d in read_documents(out)) == sorted(ODD_NAMES)
    assert (out / "tables" / "languages_by_grp.csv").is_file()


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "x\\y"])
def test_table_names_cannot_leave_the_tables_directory(tmp_path: Path, name: str) -> None:
    import pyarrow as pa

    from corpus_audit.rundir.tables import write_table

    with pytest.raises(ValueError, match="table name"):
        write_table(str(tmp_path), name, pa.table({"a": [1]}), "t", [])
    assert not any(tmp_path.rglob("*"))


def test_overwrite_keeps_a_card_the_user_edited(tmp_path: Path, capsys) -> None:
    """A card written into the run is owned (recorded with its sha256); once the user replaces or
    edits it, ``run --overwrite`` refuses with one error line and deletes nothing."""
    from conftest import main

    (tmp_path / "in").mkdir()
    shard = write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": f"d{i}", "text": SENTENCES["en"]} for i in range(3)])
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out, "--stages", "langid") == 0
    assert main(["datasheet", str(out), "--format", "hf-card"]) == 0
    (out / "README.md").write_text("# Our own README\n", encoding="utf-8")
    before = _files(out)
    capsys.readouterr()
    assert run_audit(shard, "--output", out, "--stages", "langid", "--overwrite") == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("corpus-audit: error:")]
    assert len(errors) == 1 and "README.md was edited" in errors[0]
    assert _files(out) == before and (out / "README.md").read_text(encoding="utf-8") == "# Our own README\n"
    (out / "README.md").unlink()  # once it is moved away, the run is replaced
    assert run_audit(shard, "--output", out, "--stages", "langid", "--overwrite") == 0
