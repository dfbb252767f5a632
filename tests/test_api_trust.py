"""The Python API and the command line's error boundary, as a hostile user meets them.

`corpus_audit.audit` takes typed parameters (inputs are paths, never options), raises the
project's own exceptions with the CLI's messages, writes nothing when it refuses, and leaves
no threads behind; every command ends an error as one ``corpus-audit: error:`` line, argparse's
complaints included, and an internal error leaves its traceback in a log file named in that line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corpus_audit
from conftest import SENTENCES, write_jsonl
from corpus_audit.api import audit_request
from corpus_audit.cli import ERROR_LOG_NAME, EXIT_INTERNAL, main
from corpus_audit.cli.run_options import RunOptions
from corpus_audit.errors import InputError, UsageError
from corpus_audit.options import _unwrap, option_fields
from corpus_audit.transforms import STAGES


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("api-trust")
    records = [{"id": f"d{i}", "text": SENTENCES[lang]} for i, lang in enumerate(sorted(SENTENCES))]
    write_jsonl(root / "in.jsonl", records)
    write_jsonl(root / "-dash.jsonl", records[:3])
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_inputs_are_never_options(corpus: Path, tmp_path: Path, monkeypatch) -> None:
    """``audit(["--overwrite", ...])`` was parsed as the option and replaced a completed run."""
    monkeypatch.chdir(corpus)
    done = corpus_audit.audit("in.jsonl", tmp_path / "run", stages="langid")
    assert done.exit_code == 0
    before = _tree(tmp_path / "run")
    with pytest.raises(InputError, match="--overwrite"):
        corpus_audit.audit(["--overwrite", "in.jsonl"], tmp_path / "run", stages="langid")
    assert _tree(tmp_path / "run") == before
    dashed = corpus_audit.audit("-dash.jsonl", tmp_path / "dash", stages="langid")
    assert dashed.exit_code == 0 and dashed.documents_analysed == 3


@pytest.mark.parametrize("output", [None, 7, "", b"out", ["a"], 1.5])
def test_an_output_that_is_not_a_path_is_refused_and_nothing_written(corpus: Path, tmp_path: Path, monkeypatch,
                                                                      output) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="output"):
        corpus_audit.audit(str(corpus / "in.jsonl"), output)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("output", ["memory://bucket/out", "http://127.0.0.1:9/out"])
def test_an_output_no_writer_can_write_is_a_usage_error(corpus: Path, output: str) -> None:
    with pytest.raises(UsageError, match="cannot write to"):
        corpus_audit.audit(str(corpus / "in.jsonl"), output, stages="langid")


def _all_options() -> list[tuple[type, dataclasses.Field]]:
    owners = [RunOptions, *(stage.Options for stage in STAGES.values())]
    return [(owner, f) for owner in owners for f in option_fields(owner)]


_WRONG = st.one_of(st.just(object()), st.lists(st.integers(), min_size=1, max_size=2), st.dictionaries(
    st.text(max_size=3), st.integers(), min_size=1, max_size=1), st.binary(min_size=1, max_size=4),
    st.complex_numbers(allow_nan=False), st.sets(st.integers(), min_size=1, max_size=2))


def _wrong_for(owner: type, f: dataclasses.Field) -> st.SearchStrategy:
    """Values of another type than the one ``f`` declares (any object for str and number options)."""
    base, optional = _unwrap(typing.get_type_hints(owner)[f.name])
    extra = {bool: st.one_of(st.integers(), st.text(min_size=1, max_size=4)),
             int: st.one_of(st.booleans(), st.floats(allow_nan=False).filter(lambda x: x != int(x) if abs(x) < 1e15
                                                                            else True)),
             float: st.booleans(), str: st.one_of(st.integers(), st.floats(), st.booleans())}.get(base, st.nothing())
    return st.one_of(_WRONG, extra)


@pytest.mark.parametrize("owner, field", _all_options(), ids=lambda value: getattr(value, "name", ""))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_wrongly_typed_option_is_a_usage_error_naming_it(owner, field, data) -> None:
    """Never a TypeError from deep inside a run: one UsageError naming the parameter."""
    if field.name == "output":
        return  # its own test above
    value = data.draw(_wrong_for(owner, field))
    with pytest.raises(UsageError) as caught:
        audit_request("in.jsonl", "out", **{field.name: value})
    assert field.name in str(caught.value) or field.name.replace("_", "-") in str(caught.value)


def test_unknown_options_and_bad_inputs_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown option"):
        audit_request("in.jsonl", "out", text_feild="body")
    for inputs in (3, None, [], ["ok", 4], {"a": 1}, [""]):
        with pytest.raises(UsageError, match="input"):
            audit_request(inputs, "out")
    with pytest.raises(UsageError, match="beam_args"):
        audit_request("in.jsonl", "out", beam_args="--runner DirectRunner")


def test_documents_with_a_missing_column_names_it(corpus: Path, tmp_path: Path) -> None:
    result = corpus_audit.audit(str(corpus / "in.jsonl"), tmp_path / "run", stages="langid")
    with pytest.raises(KeyError, match="no column.*toxicity_score.*it has"):
        result.documents(["language", "toxicity_score"])
    assert result.documents(["language"]).column_names == ["language"]


def test_no_thread_is_left_behind(corpus: Path, tmp_path: Path) -> None:
    before = {thread.ident for thread in threading.enumerate()}
    corpus_audit.audit(str(corpus / "in.jsonl"), tmp_path / "a", stages="langid")
    with pytest.raises(UsageError):
        corpus_audit.audit(str(corpus / "in.jsonl"), tmp_path / "b", limit=0)
    left = [thread.name for thread in threading.enumerate() if thread.ident not in before and thread.is_alive()]
    assert left == []


@pytest.mark.parametrize("argv", [["run"], ["run", "x", "--output", "o", "--limit", "abc"], ["nope"], ["report"],
                                  ["run", "x", "--output", "o", "--workers", "many"], ["compare", "a"],
                                  ["run", "x", "--output", "o", "--attributes", "parquet"]])
def test_argument_errors_are_one_line_in_the_same_format(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("corpus-audit: error: "), err
    assert "usage:" not in err


def test_an_internal_error_is_one_line_naming_its_log(corpus: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from corpus_audit.engine import local

    def broken(*args, **kwargs):
        raise RuntimeError("a bug deep inside")

    monkeypatch.setattr(local, "write_results", broken)
    out = tmp_path / "run"
    assert main(["run", str(corpus / "in.jsonl"), "--output", str(out), "--stages", "langid", "--quiet"]) == EXIT_INTERNAL
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error (RuntimeError: a bug deep inside)" in err[0], err
    log = out / ERROR_LOG_NAME
    assert str(log) in err[0]
    assert "Traceback" in log.read_text() and "a bug deep inside" in log.read_text()
    manifest = json.loads((out / "corpus-audit-run.json").read_text())
    assert manifest["status"] != "complete" and ERROR_LOG_NAME in manifest["files"]
    assert not os.path.exists(out / "corpus-audit.lock")
    monkeypatch.undo()  # the bug fixed: a rerun into the same directory replaces the failed run and its log
    assert main(["run", str(corpus / "in.jsonl"), "--output", str(out), "--stages", "langid", "--quiet"]) == 0
    assert not log.exists()


def test_a_beam_run_leaves_nothing_in_tmpdir(corpus: Path, tmp_path: Path, monkeypatch) -> None:
    """Beam makes folders of its own in the system's temporary folder (beam-temp*,
    beam-requirements-cache, ...): a run gives it a private one and removes it."""
    import tempfile

    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    result = corpus_audit.audit(str(corpus / "in.jsonl"), tmp_path / "run", stages="langid", runner="DirectRunner")
    assert result.exit_code == 0
    assert list(scratch.iterdir()) == []
    assert tempfile.tempdir == str(scratch) and os.environ["TMPDIR"] == str(scratch)


def test_a_sample_seed_draws_another_sample_and_the_same_seed_the_same(corpus: Path, tmp_path: Path) -> None:
    def analysed_ids(name: str, **options) -> set[str]:
        result = corpus_audit.audit(str(corpus / "in.jsonl"), tmp_path / name, stages="langid", sample_rate=0.5,
                                    **options)
        return set(result.documents(["id"]).column("id").to_pylist())

    default, seeded, again, other = (analysed_ids("a"), analysed_ids("b", sample_seed=1),
                                     analysed_ids("c", sample_seed=1), analysed_ids("d", sample_seed=2))
    assert seeded == again
    assert len({frozenset(default), frozenset(seeded), frozenset(other)}) > 1
