"""A run with corpus-audit's own word lists says so — console, summary.json and datasheet —
because its figures are not comparable with Llama 2's (issue 29: "Beside Llama 2" silently
dropped 4 of its top-5 descriptors with the default list); with the official lists it says nothing."""

from __future__ import annotations

import pytest

from conftest import SENTENCES, SHARED_DATA, read_summary, write_jsonl
from corpus_audit.cli import main

HOLISTIC_BIAS = SHARED_DATA / "holistic_bias" / "v1.1" / "descriptors.json"
GENDER_GAP = SHARED_DATA / "gender_gap" / "v1.0"


def _run(tmp_path, capsys, *extra: str):
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": str(i), "text": SENTENCES["en"] + " a gay woman"} for i in range(5)])
    out = tmp_path / "out"
    assert main(["run", str(shard), "--output", str(out), "--stages", "langid,descriptors,gender_gap", *extra]) == 0
    return out, capsys.readouterr().err


def test_the_default_lists_are_marked_as_not_official(tmp_path, capsys) -> None:
    out, err = _run(tmp_path, capsys)
    assert "WARNING: descriptors: the list is corpus-audit-default-descriptors" in err
    assert "not the official HolisticBias file" in err and "not the official Gender-GAP files" in err
    assert read_summary(out)["stages"]["descriptors"]["official"] is False
    datasheet = (out / "datasheet.md").read_text()
    assert "**Not the official HolisticBias list**" in datasheet and "**Not the official Gender-GAP lexicons**" in datasheet


@pytest.mark.skipif(not (HOLISTIC_BIAS.is_file() and GENDER_GAP.is_dir()),
                    reason=f"official lexicons not found under {SHARED_DATA}")
def test_the_official_lists_are_not_marked(tmp_path, capsys) -> None:
    out, err = _run(tmp_path, capsys, "--holistic-bias-descriptors", str(HOLISTIC_BIAS),
                    "--gender-gap-lexicon", str(GENDER_GAP))
    assert "not the official" not in err
    assert read_summary(out)["stages"]["descriptors"]["official"] is True
    assert "Not the official" not in (out / "datasheet.md").read_text()


def test_the_llama2_table_marks_what_the_run_cannot_produce_and_shows_its_own_languages(tmp_path) -> None:
    """Beside Llama 2: a published descriptor the run's list lacks is a marked row (it was silently
    dropped: european, latin, religious, spiritual with the default list); languages are the
    paper's that the corpus has, plus the corpus's own most frequent ones the paper does not list."""
    from conftest import REPO_ROOT
    from corpus_audit.report.llama2 import NOT_IN_LIST, NOT_LISTED, llama2_rows
    from corpus_audit.report.run import load_run

    out = tmp_path / "sample"
    assert main(["run", str(REPO_ROOT / "examples" / "sample_corpus"), "--output", str(out), "--quiet"]) == 0
    rows = llama2_rows(load_run(str(out)))
    marked = {row["key"] for row in rows if row["of"] == NOT_IN_LIST}
    assert {"race_ethnicity / european", "race_ethnicity / latin", "religion / religious",
            "religion / spiritual"} <= marked
    assert all(row["this_corpus"] is None for row in rows if row["of"] == NOT_IN_LIST)
    languages = {row["key"]: row for row in rows if row["metric"] == "language"}
    counts = {r["language"]: r["documents"] for r in load_run(str(out)).table("languages")}
    assert all(counts.get(code, 0) > 0 for code in languages)  # no row for a language the corpus lacks
    assert {"hi", "ar"} <= set(languages)  # its own languages the paper does not list
    assert languages["hi"]["llama2_text"] == NOT_LISTED and "en" in languages
