"""Trust, every command (issue 21): compare/report/datasheet/lexicons never destroy data, each
document is counted once, every loader of a user's file is bounded and fails in one line."""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from pathlib import Path

import pytest

from conftest import SENTENCES, assert_balanced, main, read_summary, run_audit, write_jsonl


def _shard(directory: Path, name: str = "a.jsonl", n: int = 2) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return write_jsonl(directory / name, [{"id": f"{name}-{i}", "text": SENTENCES["en"]} for i in range(n)])


def _one_error_line(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("corpus-audit: error:")]
    assert len(errors) == 1, lines
    assert not any("Traceback" in line for line in lines), lines
    return errors[0]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("runs")
    runs = []
    for name, n in (("A", 3), ("B", 4)):
        shard = _shard(root / f"in{name}", n=n)
        out = root / name
        assert run_audit(shard, "--output", out, "--stages", "langid") == 0
        runs.append(out)
    return runs[0], runs[1]


# ----------------------------------------------------------------------------- 1. data destroyed


def test_item01_compare_refuses_an_existing_directory_as_output(two_runs, tmp_path, capsys):
    a, b = two_runs
    target = tmp_path / "mine"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    for output in (str(target), str(target) + os.sep):
        assert main(["compare", str(a), str(b), "--output", output]) == 2
        assert "directory" in _one_error_line(capsys)
    assert (target / "keep.txt").read_text() == "keep"


def test_item01_compare_never_writes_over_an_input_run(two_runs, capsys):
    a, b = two_runs
    before_a, before_b = _tree(a), _tree(b)
    for output in (str(a), str(a / "summary.json"), str(b / "tables" / "languages.md")):
        assert main(["compare", str(a), str(b), "--output", output]) == 2
        _one_error_line(capsys)
    assert _tree(a) == before_a and _tree(b) == before_b


def test_item01_compare_refuses_an_existing_file_unless_overwrite(two_runs, tmp_path, capsys):
    a, b = two_runs
    mine = tmp_path / "summary.json"
    mine.write_text("another run's summary")
    assert main(["compare", str(a), str(b), "--output", str(mine)]) == 2
    assert "exists" in _one_error_line(capsys) and mine.read_text() == "another run's summary"
    assert main(["compare", str(a), str(b), "--output", str(mine), "--overwrite"]) == 0
    assert mine.read_text().startswith("#")  # replaced by the Markdown comparison


def test_item01_compare_refuses_any_run_directory_and_symlinks(two_runs, tmp_path, capsys):
    a, b = two_runs
    other = tmp_path / "other-run"
    other.mkdir()
    (other / "corpus-audit-run.json").write_text("{}")
    (other / "sub").mkdir()
    target = tmp_path / "target.md"
    target.write_text("keep")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    for output in (other / "new.md", other / "sub" / "new.csv", a / "tables" / "new.md"):
        for extra in ([], ["--overwrite"]):
            assert main(["compare", str(a), str(b), "--output", str(output), *extra]) == 2
            assert "run" in _one_error_line(capsys) and not output.exists()
    for extra in ([], ["--overwrite"]):
        assert main(["compare", str(a), str(b), "--output", str(link), *extra]) == 2
        assert "symlink" in _one_error_line(capsys)
    assert target.read_text() == "keep" and link.is_symlink()


def test_item01_compare_output_dash_is_stdout(two_runs, tmp_path, capsys, monkeypatch):
    a, b = two_runs
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(a), str(b), "--output", "-"]) == 0
    assert capsys.readouterr().out.startswith("#") and not (tmp_path / "-").exists()


def test_item01_compare_to_dot_refused_and_cwd_kept(two_runs, tmp_path, capsys, monkeypatch):
    a, b = two_runs
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("keep")
    monkeypatch.chdir(work)
    assert main(["compare", str(a), str(b), "-o", "."]) == 2
    _one_error_line(capsys)
    assert (work / "notes.txt").read_text() == "keep"


def test_item01_compare_into_a_missing_directory_creates_nothing(two_runs, tmp_path, capsys):
    a, b = two_runs
    target = tmp_path / "nonexistent" / "dir" / "x.md"
    assert main(["compare", str(a), str(b), "-o", str(target)]) == 2
    assert "does not exist" in _one_error_line(capsys)
    assert not (tmp_path / "nonexistent").exists()


def test_item01_compare_writes_a_new_file_and_replaces_only_a_file(two_runs, tmp_path):
    a, b = two_runs
    target = tmp_path / "cmp.md"
    assert main(["compare", str(a), str(b), "-o", str(target)]) == 0
    assert target.read_text().startswith("#")
    assert main(["compare", str(a), str(b), "-o", str(target)]) == 2  # exists: refused
    assert main(["compare", str(a), str(b), "-o", str(target), "--overwrite"]) == 0
    assert not list(tmp_path.glob("*.tmp"))


def test_item01_write_bytes_never_deletes_a_directory(tmp_path):
    from corpus_audit.storage import write_bytes

    target = tmp_path / "d"
    target.mkdir()
    (target / "x").write_text("keep")
    with pytest.raises(OSError):
        write_bytes(str(target), b"data")
    assert (target / "x").read_text() == "keep"


# ----------------------------------------------------------------------------- 2./3. counted once


def test_item02_a_file_and_a_link_to_it_are_read_once(tmp_path):
    corpus = tmp_path / "corpus"
    shard = _shard(corpus, n=2)
    os.symlink(shard, corpus / "link.jsonl")
    real = tmp_path / "real"
    _shard(real, "r.jsonl", n=2)
    os.symlink(real, tmp_path / "real-link")
    out = tmp_path / "out"
    assert run_audit(corpus, shard, real, tmp_path / "real-link", corpus / "link.jsonl", "--output", out,
                     "--stages", "langid") == 0
    summary = read_summary(out)
    assert_balanced(summary)
    assert summary["documents_read"] == 4
    assert summary["duplicate_inputs_count"] >= 3
    assert all("same_as" in item for item in summary["duplicate_inputs"])


def test_item03_dataset_dict_splits_outside_the_dataset_are_refused(tmp_path, capsys):
    datasets = pytest.importorskip("datasets")
    root = tmp_path / "dd"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": [SENTENCES["en"]] * 3})}).save_to_disk(root)
    other = tmp_path / "other"
    datasets.Dataset.from_dict({"text": [SENTENCES["fr"]] * 6}).save_to_disk(other)
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "../other", str(other)]}))
    out = tmp_path / "out"
    code = main(["run", str(root), "--output", str(out), "--stages", "langid", "--quiet"])
    if code == 2:
        assert "split" in _one_error_line(capsys)
    else:
        summary = read_summary(out)
        assert summary["documents_read"] == 3
        assert summary["documents_analysed"] == 3


# ----------------------------------------------------------------------------- 5. download bounded


class _DripHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        try:
            for _ in range(200):
                self.wfile.write(b"[")
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_item05_lexicon_download_has_an_overall_deadline_and_cleans_staging(tmp_path, capsys, monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DripHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CORPUS_AUDIT_DOWNLOAD_DEADLINE", "3")
    cache = tmp_path / "cache"
    started = time.monotonic()
    try:
        code = main(["lexicons", "download", "holistic-bias", "--url", f"http://127.0.0.1:{server.server_port}/",
                     "--cache-dir", str(cache)])
    finally:
        server.shutdown()
    assert code == 2
    assert time.monotonic() - started < 20
    assert "deadline" in _one_error_line(capsys)
    assert not [p for p in cache.rglob("*") if p.is_dir() and "staging" in p.name.lower() or p.name.startswith(".")]


# ----------------------------------------------------------------------------- 7. one line, exit 2


def _deep_json(depth: int = 5000) -> str:
    return "[" * depth + "]" * depth


def test_item07_deeply_nested_descriptor_file_is_one_line(tmp_path, capsys):
    shard = _shard(tmp_path / "in")
    bad = tmp_path / "descriptors.json"
    bad.write_text('{"gender_and_sex": ' + _deep_json() + "}")
    assert main(["run", str(shard), "--output", str(tmp_path / "out"), "--holistic-bias-descriptors", str(bad),
                 "--quiet"]) == 2
    assert str(bad) in _one_error_line(capsys)


def test_item07_deeply_nested_gender_gap_nouns_file_is_one_line(tmp_path, capsys):
    shard = _shard(tmp_path / "in")
    lexicon = tmp_path / "gg"
    lexicon.mkdir()
    (lexicon / "eng_nouns.json").write_text('{"masculine": ' + _deep_json() + "}")
    assert main(["run", str(shard), "--output", str(tmp_path / "out"), "--gender-gap-lexicon", str(lexicon),
                 "--quiet"]) == 2
    assert "eng_nouns.json" in _one_error_line(capsys)


def test_item07_deeply_nested_metadata_yaml_is_one_line(two_runs, tmp_path, capsys):
    a, _ = two_runs
    metadata = tmp_path / "meta.yaml"
    metadata.write_text("motivation: " + "[" * 5000 + "]" * 5000 + "\n")
    copy = tmp_path / "run"
    import shutil

    shutil.copytree(a, copy)
    assert main(["datasheet", str(copy), "--metadata", str(metadata)]) == 2
    assert str(metadata) in _one_error_line(capsys)


@pytest.mark.parametrize("damage", [
    {"documents_read": "many"}, {"documents_skipped": [1, 2]}, {"stages": "all"}, {"settings": 5},
    {"inputs": {"a": 1}}, {"package_versions": None}, {"documents_analysed": None},
])
def test_item07_a_summary_with_values_of_the_wrong_type_is_one_line(two_runs, tmp_path, capsys, damage):
    a, b = two_runs
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(a, copy)
    summary = json.loads((copy / "summary.json").read_text())
    summary.update(damage)
    (copy / "summary.json").write_text(json.dumps(summary))
    for argv in (["report", str(copy)], ["datasheet", str(copy)], ["compare", str(copy), str(b)]):
        assert main(argv) == 2, argv
        assert "summary.json" in _one_error_line(capsys)
