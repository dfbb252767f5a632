"""Where a run may write, and what it may read (issue 28, items 2 and 3).

* An ``--output`` corpus-audit can never own (empty, ``/``, the home or current directory, a
  folder holding an input) is refused in one line before anything is created.
* A run never reads another run's outputs as corpus: a run directory found among the inputs is
  skipped whole (listed in ``ignored_special_files``), and naming one is an error.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import fsspec
import pytest

from conftest import SENTENCES, read_summary, run_audit, write_jsonl
from corpus_audit.cli import main
from corpus_audit.readers.discovery import RUN_DIRECTORY_KIND, RUN_DIRECTORY_LINK_KIND, discover_inputs
from corpus_audit.errors import InputError
from test_write_confinement import snapshot

STAGES = "langid,pronouns,descriptors,gender_gap"


def _corpus(root: Path) -> Path:
    """A small corpus of JSON lines (one nested folder, one gzip) at ``root``."""
    (root / "sub").mkdir(parents=True)
    write_jsonl(root / "a.jsonl", [{"id": f"a{i}", "text": SENTENCES["en" if i % 2 else "fr"] + " She is old."}
                                   for i in range(6)])
    write_jsonl(root / "sub" / "b.jsonl.gz", [{"id": f"b{i}", "text": SENTENCES["en"]} for i in range(4)],
                compress="gz")
    return root


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("corpus-audit: error: "), captured.err
    return lines[0]


def _tables(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((out / "tables").iterdir())}


# -- item 2: outputs corpus-audit may not own ----------------------------------------------------


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A corpus, a home and a working directory of their own, all under ``tmp_path``."""
    corpus = _corpus(tmp_path / "data" / "corpus")
    home, cwd = tmp_path / "home", tmp_path / "data" / "work"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    return tmp_path, corpus


REFUSED = {
    "empty": lambda tmp, corpus: "",
    "filesystem root": lambda tmp, corpus: "/",
    "home": lambda tmp, corpus: os.path.expanduser("~"),
    "home, as ~/": lambda tmp, corpus: str(Path.home()) + "/",
    "~ unexpanded": lambda tmp, corpus: "~",
    "~/audit unexpanded": lambda tmp, corpus: "~/audit",
    "cwd": lambda tmp, corpus: ".",
    "cwd, absolute": lambda tmp, corpus: str(Path.cwd()),
    "parent of cwd": lambda tmp, corpus: "..",
    "the input directory": lambda tmp, corpus: str(corpus),
    "parent of an input": lambda tmp, corpus: str(corpus.parent),
    "ancestor of an input file": lambda tmp, corpus: str(corpus / "sub"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_output_corpus_audit_cannot_own_is_refused_creating_nothing(case, place, capsys) -> None:
    tmp, corpus = place
    output = REFUSED[case](tmp, corpus)
    inputs = [str(corpus / "sub" / "b.jsonl.gz")] if case == "ancestor of an input file" else [str(corpus)]
    before, root_before = snapshot(tmp), sorted(os.listdir("/"))
    assert main(["run", *inputs, "--output", output, "--stages", "langid", "--quiet"]) == 2
    line = _one_error_line(capsys)
    assert "--output" in line
    assert snapshot(tmp) == before and sorted(os.listdir("/")) == root_before


def test_a_new_output_beside_the_input_is_accepted(place) -> None:
    tmp, corpus = place
    assert run_audit(corpus, "--output", "audit", "--stages", "langid") == 0
    assert (Path.cwd() / "audit" / "summary.json").is_file()


# -- item 3: another run's outputs are not corpus ------------------------------------------------


def test_a_run_directory_inside_the_input_is_not_read_again(tmp_path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    alone = tmp_path / "alone"
    assert run_audit(corpus, "--output", alone, "--stages", STAGES) == 0  # the corpus by itself
    inner = corpus / "audit-out"
    assert run_audit(corpus, "--output", inner, "--stages", STAGES, "--attributes", "dolma") == 0
    assert list((inner / "attributes").rglob("*.jsonl")) and list((inner / "documents").glob("*.parquet"))
    again = tmp_path / "again"
    assert run_audit(corpus, "--output", again, "--stages", STAGES) == 0
    assert _tables(again) == _tables(alone)
    summary = read_summary(again)
    assert summary["input_files"] == 2 and summary["ignored_files"] == read_summary(alone)["ignored_files"]
    assert summary["ignored_special_files"] == [{"path": str(inner), "kind": RUN_DIRECTORY_KIND}]
    # A rerun into the run directory inside the corpus: its own folder is left out silently, as before.
    assert run_audit(corpus, "--output", inner, "--stages", STAGES, "--overwrite") == 0
    assert _tables(inner) == _tables(alone) and read_summary(inner)["ignored_special_files"] == []
    # A glob reaching into run directories skips them too.
    nested = corpus / "runs" / "r1"
    nested.parent.mkdir()
    shutil.copytree(inner, nested)
    assert run_audit(str(corpus) + "/**/*.json*", "--output", tmp_path / "glob", "--stages", STAGES) == 0
    assert _tables(tmp_path / "glob") == _tables(alone)


def test_a_run_directory_with_only_its_lock_is_skipped(tmp_path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    crashed = corpus / "crashed"  # a run killed before its manifest: only the lock tells
    crashed.mkdir()
    (crashed / "corpus-audit.lock").write_text("{}")
    write_jsonl(crashed / "partial.jsonl", [{"id": "x", "text": "not corpus"}])
    found = discover_inputs([str(corpus)])
    assert [Path(item.path).name for item in found.inputs] == ["a.jsonl", "b.jsonl.gz"]
    assert [item.to_dict() for item in found.special_files] == [{"path": str(crashed), "kind": RUN_DIRECTORY_KIND}]


def test_links_into_a_run_directory_are_skipped(tmp_path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    run = tmp_path / "run"
    assert run_audit(corpus, "--output", run, "--stages", "langid", "--attributes", "dolma") == 0
    other = _corpus(tmp_path / "other")
    (other / "linked-run").symlink_to(run)
    (other / "linked-attributes").symlink_to(run / "attributes")
    (other / "linked.jsonl").symlink_to(next((run / "attributes").rglob("*.jsonl")))
    found = discover_inputs([str(other)])
    assert [os.path.relpath(item.path, other) for item in found.inputs] == ["a.jsonl", "sub/b.jsonl.gz"]
    assert sorted((item.path, item.kind) for item in found.special_files) == [
        (str(other / "linked-attributes"), RUN_DIRECTORY_LINK_KIND), (str(other / "linked-run"), RUN_DIRECTORY_KIND),
        (str(other / "linked.jsonl"), RUN_DIRECTORY_LINK_KIND)]
    with pytest.raises(InputError, match="corpus-audit run directory"):
        discover_inputs([str(other / "linked-attributes")])


def test_naming_a_run_directory_or_a_file_in_one_is_an_error(tmp_path, capsys) -> None:
    corpus = _corpus(tmp_path / "corpus")
    run = tmp_path / "run"
    assert run_audit(corpus, "--output", run, "--stages", "langid", "--attributes", "dolma") == 0
    capsys.readouterr()
    assert run_audit(run, "--output", tmp_path / "x", "--stages", "langid") == 2
    assert _one_error_line(capsys) == f"corpus-audit: error: {run} is a corpus-audit run directory, not a corpus"
    attribute = next((run / "attributes").rglob("*.jsonl"))
    assert run_audit(attribute, "--output", tmp_path / "x", "--stages", "langid") == 2
    assert f"is inside the corpus-audit run directory {run}, not a corpus" in _one_error_line(capsys)
    assert not (tmp_path / "x").exists()
    with pytest.raises(InputError, match="is inside the corpus-audit run directory"):
        discover_inputs([str(run / "documents")])


def test_a_run_directory_below_a_url_prefix_is_skipped() -> None:
    fs = fsspec.filesystem("memory")
    lines = json.dumps({"id": "a", "text": SENTENCES["en"]}).encode() + b"\n"
    fs.pipe({"/issue28/c/a.jsonl": lines, "/issue28/c/old/corpus-audit-run.json": b"{}",
             "/issue28/c/old/attributes/corpus-audit/a.jsonl": lines, "/issue28/c/old/summary.json": b"{}"})
    try:
        found = discover_inputs(["memory://issue28/c"])
        assert [item.path for item in found.inputs] == ["memory:///issue28/c/a.jsonl"]
        assert [item.to_dict() for item in found.special_files] == [
            {"path": "memory:///issue28/c/old", "kind": RUN_DIRECTORY_KIND}]
        assert found.ignored == []
        with pytest.raises(InputError, match="is a corpus-audit run directory, not a corpus"):
            discover_inputs(["memory://issue28/c/old"])
    finally:
        fs.rm("/issue28", recursive=True)
