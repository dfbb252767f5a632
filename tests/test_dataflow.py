"""Dataflow: ``--runner DataflowRunner --dry-run`` builds and validates the whole graph with
Dataflow options and submits nothing; gs:// paths are never touched (no network here)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from conftest import REPO_ROOT, SENTENCES, write_jsonl
from corpus_audit.cli import main

BUCKET = "gs://corpus-audit-test-bucket"
DATAFLOW = ["--runner", "DataflowRunner", "--project", "my-project", "--region", "us-central1",
            "--temp_location", f"{BUCKET}/tmp"]
GPU = ["--dataflow_service_options", "worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver",
       "--sdk_container_image", "us-docker.pkg.dev/my-project/images/corpus-audit-gpu:0.1",
       "--experiments=use_runner_v2"]


@pytest.fixture
def offline(monkeypatch):
    """Fail the test if anything opens a network connection or a gs:// path."""
    from apache_beam.io.filesystems import FileSystems

    def refuse_connection(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    from apache_beam.internal.gcp import auth
    from apache_beam.io.gcp import gcsio

    monkeypatch.setattr(gcsio.GcsIO, "__init__", refuse_connection)
    monkeypatch.setattr(auth, "get_service_credentials", refuse_connection)
    monkeypatch.setattr(socket.socket, "connect", refuse_connection)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_connection)
    for name in ("match", "open", "create", "exists", "delete", "rename", "copy"):
        original = getattr(FileSystems, name)

        def guarded(paths, *args, _original=original, **kwargs):
            listed = paths if isinstance(paths, list) else [paths]
            assert not any("gs://" in str(p) for p in listed), f"gs:// path touched: {listed}"
            return _original(paths, *args, **kwargs)

        monkeypatch.setattr(FileSystems, name, staticmethod(guarded))


def _dry_run(*extra: str) -> list[str]:
    return ["run", f"{BUCKET}/corpus/shard-*.jsonl.gz", f"{BUCKET}/more/", "--output", f"{BUCKET}/audit",
            "--dry-run", "--quiet", *DATAFLOW, *extra]


def test_dataflow_dry_run_builds_and_validates_the_whole_graph(offline, capsys) -> None:
    code = main(_dry_run("--setup_file", str(REPO_ROOT / "pyproject.toml"),
                         "--checkpoint-dir", f"{BUCKET}/checkpoints", "--max_num_workers", "20"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "nothing was submitted" in out
    assert "project: my-project" in out and "region: us-central1" in out
    assert f"temp_location: {BUCKET}/tmp" in out
    assert f"inputs: ['{BUCKET}/corpus/shard-*.jsonl.gz', '{BUCKET}/more/']" in out
    assert "'max_num_workers': 20" in out
    for transform in ("ReadAndAnalyse/ParDo(AuditWorkUnit)", "PlanSplits", "WriteReport",
                      "WriteSkipped/Write/WriteImpl/WriteBundles", "CombineAccounting/KeyWithVoid"):
        assert f"    {transform}\n" in out, transform
    from corpus_audit.transforms import STAGES

    for stage in STAGES:  # every registered stage has its combine in the graph
        assert f"Combine_{stage}/" in out, stage
    assert "rebuilt_transforms: " in out


def test_dataflow_dry_run_with_the_gpu_container_options(offline, capsys) -> None:
    assert main(_dry_run(*GPU)) == 0
    out = capsys.readouterr().out
    assert "worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver" in out
    assert "corpus-audit-gpu:0.1" in out and "use_runner_v2" in out


@pytest.mark.parametrize("extra, message", [
    ((), "workers need corpus-audit installed"),
    (("--setup_file", "/nonexistent/pyproject.toml"), "--setup_file not found"),
    (("--setup_file", str(REPO_ROOT / "README.md")), "must name a setup.py or pyproject.toml"),
    (GPU[:4], "need Dataflow Runner v2"),
    (("--setup_file", str(REPO_ROOT / "pyproject.toml"), "--temp_location", "/local/tmp"), "Invalid GCS path"),
    (("--setup_file", str(REPO_ROOT / "pyproject.toml"), "--checkpoint-dir", "/local/ck"), "must be gs:// paths"),
])
def test_dataflow_option_errors_are_one_clear_line(offline, capsys, extra, message) -> None:
    assert main(_dry_run(*extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("corpus-audit: error: ") and message in err[0], err


def test_missing_project_is_reported(offline, capsys) -> None:
    args = _dry_run("--setup_file", str(REPO_ROOT / "pyproject.toml"))
    i = args.index("--project")
    del args[i:i + 2]
    assert main(args) == 2
    assert "project" in capsys.readouterr().err


def test_local_dry_run_writes_nothing(tmp_path: Path, capsys) -> None:
    shard = write_jsonl(tmp_path / "a.jsonl", [{"text": SENTENCES["en"]}])
    out = tmp_path / "out"
    assert main(["run", str(shard), "--output", str(out), "--dry-run", "--quiet",
                 "--checkpoint-dir", str(tmp_path / "ck")]) == 0
    assert "runner: DirectRunner" in capsys.readouterr().out
    assert not out.exists() and not (tmp_path / "ck").exists()


def test_setup_file_without_the_build_package_is_refused(offline, capsys, monkeypatch) -> None:
    """Beam builds the sdist of a pyproject.toml with `build` at submission: a dry run that
    accepted it without `build` would promise a job that fails later."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "build" else real(name, *a))
    assert main(_dry_run("--setup_file", str(REPO_ROOT / "pyproject.toml"))) == 2
    assert "needs the `build` package" in capsys.readouterr().err


def test_the_documented_dataflow_example_passes_a_dry_run(offline, capsys) -> None:
    """The first ``--runner DataflowRunner`` example of docs/scale.md, run as written (its
    placeholders must be names Beam's validation accepts)."""
    import re
    import shlex

    text = (REPO_ROOT / "docs" / "scale.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", text, flags=re.S)
    example = next(block for block in blocks if "DataflowRunner" in block and "--dry-run" in block)
    words = shlex.split(example.replace("\\\n", " ").replace('"$PWD/', f'"{REPO_ROOT}/'))
    assert words[:2] == ["corpus-audit", "run"]
    assert main(words[1:]) == 0, capsys.readouterr().err
    assert "dry run: the pipeline was built and validated" in capsys.readouterr().out
