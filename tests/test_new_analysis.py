"""A new analysis defined here, in the test suite only, registered with one line (``STAGES``), gets
everything the shipped ones get, with no package file edited: its options on the command line
and in the API, its tables on every engine (byte-identical), its summary entry, a datasheet and
Hub card section, compare rows with intervals from its declared denominators, and dolma attributes.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping

import pyarrow as pa
import pytest

import corpus_audit
from conftest import SENTENCES, read_summary, run_audit, write_jsonl
from corpus_audit import transforms
from corpus_audit.options import Options, option
from corpus_audit.stats import percent
from corpus_audit.transforms.base import Analysis, Proportion, StageCombineFn, Table, TableSpec


@dataclass(frozen=True)
class QuestionOptions(Options):
    GROUP: ClassVar[str] = "questions (stage questions)"
    question_mark: str = option("?", help="the character that makes a question")


class QuestionCounts(StageCombineFn):
    """Per language: [documents, documents with a question mark]."""

    def create_accumulator(self) -> dict:
        return {}

    def add_input(self, accumulator: dict, element: dict) -> dict:
        for language, has in zip(element["language"], element["has_question"]):
            counts = accumulator.setdefault(language, [0, 0])
            counts[0] += 1
            counts[1] += int(has)
        return accumulator

    def merge_accumulators(self, accumulators) -> dict:
        merged: dict = {}
        for accumulator in accumulators:
            for language, (documents, questions) in accumulator.items():
                counts = merged.setdefault(language, [0, 0])
                counts[0] += documents
                counts[1] += questions
        return merged


class Questions(Analysis):
    """Documents that ask something: the share with a question mark, per language."""

    name = "questions"
    requires = ("langid",)
    Options = QuestionOptions
    TITLE = "Questions asked"
    TABLES = (TableSpec("questions", ("language",), (Proportion("percent", "with_question", "denominator"),)),)

    def __init__(self, mark: str = "?") -> None:
        self.mark = mark

    @classmethod
    def from_options(cls, options: QuestionOptions) -> "Questions":
        return cls(options.question_mark)

    def document_fields(self) -> list[pa.Field]:
        return [pa.field("has_question", pa.bool_()), pa.field("question_marks", pa.int64())]

    def annotate(self, batch, columns: Mapping[str, list]) -> dict[str, list]:
        counts = [text.count(self.mark) for text in batch.texts]
        return {"has_question": [count > 0 for count in counts], "question_marks": counts}

    def combine_input(self, batch, columns: Mapping[str, list]) -> Any:
        return {"language": columns["language"], "has_question": columns["has_question"]}

    def combine_fn(self) -> StageCombineFn:
        return QuestionCounts()

    def tables(self, aggregate: dict, context) -> list[Table]:
        languages = sorted(aggregate, key=str)
        data = pa.table({
            "language": pa.array(languages, pa.string()),
            "with_question": pa.array([aggregate[lang][1] for lang in languages], pa.int64()),
            "denominator": pa.array([aggregate[lang][0] for lang in languages], pa.int64()),
            "percent": pa.array([percent(aggregate[lang][1], aggregate[lang][0]) for lang in languages], pa.float64()),
        })
        return [Table("questions", data, "Documents with a question", ["Percent of the language's documents."])]

    def settings(self) -> dict[str, Any]:
        return {"question_mark": self.mark}


@pytest.fixture()
def registered(monkeypatch):
    """The one line of registration, here instead of in corpus_audit/transforms/__init__.py."""
    monkeypatch.setitem(transforms.STAGES, Questions.name, Questions)
    yield Questions


def _corpus(path: Path, questions: int) -> Path:
    records = [{"id": f"q{i}", "text": SENTENCES["en"] + (" Why?" if i < questions else "")} for i in range(40)]
    records += [{"id": f"f{i}", "text": SENTENCES["fr"] + (" Pourquoi ?" if i % 2 else "")} for i in range(20)]
    return write_jsonl(path, records)


def test_a_new_analysis_gets_everything_from_one_registration(registered, tmp_path: Path, capsys) -> None:
    shard = _corpus(tmp_path / "a.jsonl", questions=5)
    common = ("--stages", "langid,questions", "--question-mark", "?", "--quiet", "--attributes", "dolma")
    engines = {"local": ("--runner", "local"), "direct": ("--runner", "DirectRunner"),
               "portable": ("--runner", "PortableRunner", "--job_endpoint", "embed", "--environment_type", "LOOPBACK")}
    for name, extra in engines.items():
        assert run_audit(shard, "--output", tmp_path / name, *common, *extra) == 0, name
    table = (tmp_path / "local" / "tables" / "questions.csv").read_bytes()
    assert b"en,5,40,12.5" in table.replace(b"\r", b"")  # 5 of the 40 English documents ask
    for name in engines:
        assert (tmp_path / name / "tables" / "questions.csv").read_bytes() == table, name
        assert (tmp_path / name / "tables" / "questions.parquet").read_bytes() == \
            (tmp_path / "local" / "tables" / "questions.parquet").read_bytes(), name

    summary = read_summary(tmp_path / "local")
    assert summary["stages"]["questions"]["question_mark"] == "?" and "questions" in summary["tables"]

    datasheet = (tmp_path / "local" / "datasheet.md").read_text()
    assert "Questions asked" in datasheet and "12.5" in datasheet
    assert corpus_audit.cli.main(["datasheet", str(tmp_path / "local"), "--format", "hf-card", "--output",
                                  str(tmp_path / "local" / "README.md")]) == 0
    assert "Questions asked" in (tmp_path / "local" / "README.md").read_text()

    lines = [json.loads(line) for line in (tmp_path / "local" / "attributes" / "corpus-audit" / "a.jsonl")
             .read_text().splitlines()]
    assert lines[0]["attributes"]["corpus_audit__has_question"] == [[0, len(SENTENCES["en"]) + 5, 1.0]]
    assert lines[39]["attributes"]["corpus_audit__question_marks"][0][2] == 0.0

    # compare: the percentage's denominator is declared, so its rows carry a test and an interval.
    other = _corpus(tmp_path / "b.jsonl", questions=35)
    assert run_audit(other, "--output", tmp_path / "other", *common) == 0
    from corpus_audit.report.compare import compare_runs
    from corpus_audit.report.run import load_run

    comparison = compare_runs(load_run(str(tmp_path / "local")), load_run(str(tmp_path / "other")), all_rows=True)
    english = next(row for row in comparison.rows if row.table == "questions" and row.metric == "percent"
                   and dict(row.keys).get("language") == "en")
    assert english.shift is not None and (english.shift.a_count, english.shift.a_base) == (5, 40)
    assert english.shift.ci_low > 0 and english.shift.significant


def test_its_options_are_typed_in_the_api(registered, tmp_path: Path) -> None:
    from corpus_audit.errors import UsageError

    shard = _corpus(tmp_path / "a.jsonl", questions=3)
    result = corpus_audit.audit(shard, tmp_path / "api", stages="langid,questions", question_mark="!")
    assert result.summary["stages"]["questions"]["question_mark"] == "!"
    with pytest.raises(UsageError, match="question_mark"):
        corpus_audit.audit(shard, tmp_path / "bad", stages="langid,questions", question_mark=3)
