"""The Python API: audit() runs what the CLI runs; load_run() reads a run back as pyarrow."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

import corpus_audit
from conftest import SENTENCES, read_documents, read_summary, run_audit, write_jsonl
from corpus_audit.errors import InputError, UsageError


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    records = [{"id": f"d{i}", "text": SENTENCES[lang] + " She prays at the church."}
               for i, lang in enumerate(["en", "fr", "en", "de", "en", "es"])]
    write_jsonl(root / "a.jsonl", [*records, b"not json\n"])
    return root


@pytest.fixture(scope="module")
def result(corpus):
    return corpus_audit.audit([str(corpus / "a.jsonl")], str(corpus / "out"),
                              stages=["langid", "pronouns", "descriptors"], batch_documents=2)


def test_import_is_cheap() -> None:
    code = ("import sys, corpus_audit; corpus_audit.__version__; "
            "print(any(m.split('.')[0] in ('apache_beam', 'pyarrow', 'torch') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_audit_returns_accounting_and_tables(result, corpus) -> None:
    assert result.exit_code == 0
    assert result.accounting == {"documents_read": 7, "documents_analysed": 6,
                                 "documents_skipped": {"malformed_json": 1}, "documents_not_sampled": 0,
                                 "accounting_balanced": True}
    assert result.summary["settings"]["stages"] == ["langid", "pronouns", "descriptors"]
    languages = result.table("languages")
    assert isinstance(languages, pa.Table) and "language" in languages.column_names
    assert set(result.tables) == set(result.table_names) >= {"languages", "pronouns", "descriptors"}
    documents = result.documents(["id", "shard", "position", "language"])
    assert documents.column("id").to_pylist() == [f"d{i}" for i in range(6)]
    assert documents.column("language").to_pylist()[:2] == ["en", "fr"]
    assert result.skipped().column("reason").to_pylist() == ["malformed_json"]
    with pytest.raises(KeyError, match="no table 'toxicity_summary'"):
        result.table("toxicity_summary")


def test_audit_matches_the_cli(result, corpus, tmp_path) -> None:
    assert run_audit(corpus / "a.jsonl", "--output", tmp_path, "--stages", "langid,pronouns,descriptors") == 0
    cli = read_summary(tmp_path)
    api = result.summary
    for key in ("documents_read", "documents_analysed", "documents_skipped", "tables", "stages"):
        assert api[key] == cli[key], key
    strip = lambda rows: [{k: v for k, v in r.items() if k != "shard"} for r in rows]  # noqa: E731
    assert strip(result.documents().to_pylist()) == strip(read_documents(tmp_path))


def test_load_run_reads_a_finished_run(result) -> None:
    loaded = corpus_audit.load_run(result.output_dir)
    assert loaded.exit_code is None
    assert loaded.summary == result.summary
    assert loaded.table("pronouns").equals(result.table("pronouns"))
    with pytest.raises(FileNotFoundError, match="no corpus-audit run"):
        corpus_audit.load_run(result.path("tables"))


def test_errors_are_exceptions_not_exits(corpus, tmp_path) -> None:
    with pytest.raises(InputError):
        corpus_audit.audit(str(corpus / "missing-*.jsonl"), str(tmp_path / "o1"))
    with pytest.raises(UsageError, match="unknown stage"):
        corpus_audit.audit(str(corpus / "a.jsonl"), str(tmp_path / "o2"), stages="nope")
    with pytest.raises(UsageError, match="--limit"):
        corpus_audit.audit(str(corpus / "a.jsonl"), str(tmp_path / "o3"), limit="many")
    with pytest.raises(UsageError, match="unknown option"):
        corpus_audit.audit(str(corpus / "a.jsonl"), str(tmp_path / "o4"), no_such_option=3)
    assert not (tmp_path / "o2").exists()


def test_nothing_analysed_is_exit_code_one(corpus, tmp_path) -> None:
    out = corpus_audit.audit(str(corpus / "a.jsonl"), str(tmp_path / "o"), stages="langid", text_field="body")
    assert out.exit_code == 1 and out.documents_analysed == 0


def test_options_fill_typed_options_without_a_command_line(tmp_path) -> None:
    """The API's keyword arguments become the same typed options the CLI fills; nothing is parsed."""
    from corpus_audit.api import audit_request

    request = audit_request(tmp_path / "a.jsonl", tmp_path / "out", ["langid", "pronouns"], limit=5, group_by=None,
                            dry_run=False, langid_threshold=0.25, beam_args=["--direct_num_workers=2"])
    assert request.inputs == (str(tmp_path / "a.jsonl"),)
    assert request.options.output == str(tmp_path / "out") and request.options.limit == 5
    assert request.options.stages == ("langid", "pronouns") and request.options.quiet is True
    assert request.stage_options["langid"].langid_threshold == 0.25
    assert request.beam_args == ("--direct_num_workers=2",)
    assert request.equivalent_command() == ("corpus-audit", "run", str(tmp_path / "a.jsonl"), "--output",
                                            str(tmp_path / "out"), "--stages", "langid,pronouns", "--limit", "5",
                                            "--quiet", "--langid-threshold", "0.25", "--direct_num_workers=2")