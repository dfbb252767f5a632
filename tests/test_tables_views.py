"""Readable tables (issue 15): compact Markdown views, language names, small-sample flags and the
Gender-GAP reference view (expectations counted by hand, the reference statistic by numpy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import read_csv, run_audit, write_jsonl
from corpus_audit.language_names import (UNKNOWN_LANGUAGE_NAME, language_label, language_name, language_names,
                                         table_language_name)
from corpus_audit.rundir.tables import SMALL_SAMPLE_MARK, markdown_percent, table_to_csv, table_to_markdown
from corpus_audit.stats import SMALL_SAMPLE_DOCUMENTS, is_small_sample
from corpus_audit.transforms.base import ReportContext
from corpus_audit.transforms.gender_gap import GenderGap, GenderGapCombineFn, reference_standard_error


# ----------------------------------------------------------------------------- language names


@pytest.mark.parametrize("code, name", [
    ("en", "English"), ("nds", "Low German"), ("zh", "Chinese"), ("cmn", "Mandarin Chinese"),
    ("arb", "Standard Arabic"), ("__label__fr", "French"),
])
def test_language_names_come_from_langcodes(code: str, name: str) -> None:
    assert language_name(code) == name == table_language_name(code)


def test_unknown_is_no_language_but_tables_say_what_it_means() -> None:
    assert language_name("unknown") is None  # e.g. not a `language:` of a dataset card
    assert table_language_name("unknown") == UNKNOWN_LANGUAGE_NAME == "unknown (no language above the threshold)"


@pytest.mark.parametrize("code", ["", "   ", None, "__label__", "no_lexicon", "(missing)", "zz", "eml", "123",
                                  "é", "x" * 200, "en\nfr", 17])
def test_odd_codes_get_no_name_and_never_raise(code) -> None:
    assert language_name(code) is None
    assert language_label(code) == ("" if code is None else str(code))


def test_labels_and_columns() -> None:
    assert language_label("nds") == "nds — Low German"
    assert language_label("unknown") == UNKNOWN_LANGUAGE_NAME
    assert language_names(["en", "unknown", "zz"]) == ["English", UNKNOWN_LANGUAGE_NAME, None]


def test_transforms_do_not_import_the_report() -> None:
    code = ("import sys, corpus_audit.transforms.gender_gap, corpus_audit.transforms.langid, "
            "corpus_audit.language_names; print(any(m.startswith('corpus_audit.report') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ----------------------------------------------------------------------------- Markdown views


def _table() -> pa.Table:
    return pa.table({
        "language": ["en", "fr"], "documents": [1234, 7], "percent": [12.345678, 50.0],
        "rate": [0.046968, 3.0], "extra": ["a", "b"], "small_sample": [False, True],
    })


def test_small_sample_threshold() -> None:
    assert SMALL_SAMPLE_DOCUMENTS == 30
    assert is_small_sample(29) and not is_small_sample(30) and is_small_sample(0) and is_small_sample(None)


def test_markdown_view_keeps_the_chosen_columns_and_says_where_the_rest_is() -> None:
    markdown = table_to_markdown(_table(), "T", ["a note"], columns=("language", "documents", "percent", "rate"),
                                 name="things").decode()
    lines = markdown.splitlines()
    assert lines[2] == "| language | documents | percent | rate |"
    assert lines[4] == "| en | 1,234 | 12.3 | 0.047 |"  # percent: 1 decimal from 1%; 3 significant digits
    assert lines[5] == f"| fr | 7 | 50.0 {SMALL_SAMPLE_MARK} | 3.00 |"  # only the percentage is flagged
    assert "_a note_" in lines
    assert f"_{SMALL_SAMPLE_MARK} fewer than 30 documents" in markdown
    assert "4 of 6 columns; the full table (6 columns, full precision) is in `things.csv` / `things.parquet`" \
        in markdown


def test_markdown_view_without_small_samples_or_hidden_columns_has_no_extra_notes() -> None:
    table = _table().set_column(5, "small_sample", pa.array([False, False]))
    markdown = table_to_markdown(table, "T", []).decode()
    assert SMALL_SAMPLE_MARK not in markdown and "Compact view" not in markdown
    assert "| en | 1,234 | 12.3 | 0.047 | a | no |" in markdown


def test_hiding_only_small_sample_needs_no_pointer_to_the_csv() -> None:
    columns = ("language", "documents", "percent", "rate", "extra")
    markdown = table_to_markdown(_table(), "T", [], columns=columns).decode()
    assert "Compact view" not in markdown and f"50.0 {SMALL_SAMPLE_MARK}" in markdown


@pytest.mark.parametrize("value, text", [(0.0, "0.0"), (0.004, "<0.01"), (0.005, "0.01"), (0.42, "0.42"),
                                         (0.994, "0.99"), (0.995, "1.0"), (36.0, "36.0"), (25.0, "25.0"),
                                         (100.0, "100.0"), (-0.42, "-0.42")])
def test_markdown_percentages_have_one_or_two_decimals(value: float, text: str) -> None:
    assert markdown_percent(value) == text


def test_markdown_view_rejects_unknown_columns() -> None:
    with pytest.raises(ValueError, match="nope"):
        table_to_markdown(_table(), "T", [], columns=("language", "nope"))


def test_csv_keeps_every_column_at_full_precision() -> None:
    assert table_to_csv(_table()).decode() == (
        "language,documents,percent,rate,extra,small_sample\n"
        "en,1234,12.3457,0.046968,a,False\n"
        "fr,7,50.0000,3.0,b,True\n")


# ----------------------------------------------------------------------------- the reference view

def _reference_ste(vector: list[int]) -> float:
    """The reference's statistic on its own terms: per-token d, std(ddof=1) / sqrt(n)."""
    d = np.array(vector, dtype=float)
    return float(np.std(d, ddof=1) / np.sqrt(d.size))


@pytest.mark.parametrize("tokens, masculine, feminine, both", [(27, 3, 2, 1), (10, 0, 4, 0), (50, 7, 7, 3), (2, 1, 0, 0)])
def test_reference_standard_error_equals_numpy(tokens: int, masculine: int, feminine: int, both: int) -> None:
    # tokens: `both` with d = 0, the other masculine ones +1, the other feminine ones -1, the rest 0
    assert tokens >= masculine + feminine - both
    vector = [1] * (masculine - both) + [-1] * (feminine - both) + [0] * (tokens - masculine - feminine + 2 * both)
    assert reference_standard_error(tokens, masculine, feminine, both) == pytest.approx(_reference_ste(vector),
                                                                                        rel=1e-12)


def test_reference_standard_error_needs_two_tokens() -> None:
    assert reference_standard_error(1, 1, 0) is None and reference_standard_error(0, 0, 0) is None


def test_reference_table_merges_the_languages_of_one_lexicon() -> None:
    fn = GenderGapCombineFn()
    batch = {"language": ["en", "en", "sco", "uk"], "lexicon": ["eng", "eng", "eng", None],
             "tokens": [10, 20, 10, None], "masculine": [1, 0, 2, None], "feminine": [2, 1, 0, None],
             "unspecified": [0, 0, 1, None], "both": [1, 0, 0, 0]}
    aggregate = fn.extract_output(fn.add_input(fn.create_accumulator(), batch))
    tables = {t.name: t for t in GenderGap().tables(aggregate, ReportContext())}
    reference = tables["gender_gap_reference"].data.to_pylist()
    assert len(reference) == 1  # one lexicon; `uk` has none and is not in the reference's report
    row = reference[0]
    assert (row["lang"], row["language_name"], row["language"], row["documents"], row["total"]) == (
        "eng", "English", "en, sco", 3, 40)
    assert row["masculine"] == pytest.approx(100 * 3 / 40) and row["feminine"] == pytest.approx(100 * 3 / 40)
    assert row["unspecified"] == pytest.approx(100 * 1 / 40)
    assert row["n_doc_w_match"] == pytest.approx(100.0) and row["small_sample"] is True
    # d: the shared match 0, two more masculine +1, two more feminine -1
    assert row["ste_diff_fem_masc"] == pytest.approx(_reference_ste([1, 1, -1, -1] + [0] * 36), rel=1e-12)
    gender_gap = {(r["language"], r["lexicon"]): r for r in tables["gender_gap"].data.to_pylist()}
    assert gender_gap[("uk", "no_lexicon")]["language_name"] == "Ukrainian"
    assert [gender_gap[k]["small_sample"] for k in sorted(gender_gap)] == [True, True, True]
    view = table_to_markdown(tables["gender_gap"].data, "t", tables["gender_gap"].notes,
                             tables["gender_gap"].markdown_rows, tables["gender_gap"].markdown_columns).decode()
    assert "| uk |" not in view and "the 1 without one (1 document) are in the `no_lexicon` rows" in view
    assert "| en | English | 2 | 30 |" in view and "| sco |" in view


def test_reference_view_of_a_run_with_a_form_under_two_genders(tmp_path: Path) -> None:
    lexicon = tmp_path / "lex"
    lexicon.mkdir()
    (lexicon / "eng_nouns.json").write_text(json.dumps({
        "masculine": [{"singular": "man", "plural": "men"}, {"singular": "spouse"}],
        "feminine": [{"singular": "wife", "plural": "wives"}, {"singular": "spouse"}],
        "unspecified": [{"singular": "person", "plural": "people"}],
    }))
    texts = {
        # 15 words: wife -1, spouse (both genders) 0, man +1
        "d1": "My wife and my spouse went to the market with the old man yesterday morning.",
        # 13 words: person (unspecified), man +1
        "d2": "The person at the door said hello to every man in the room.",
    }
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": k, "text": t} for k, t in texts.items()])
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out, "--stages", "langid,gender_gap", "--gender-gap-lexicon", lexicon) == 0
    rows = pq.read_table(out / "tables" / "gender_gap_reference.parquet").to_pylist()
    assert len(rows) == 1
    row = rows[0]
    assert (row["lang"], row["documents"], row["total"]) == ("eng", 2, 28)
    assert row["masculine"] == pytest.approx(100 * 3 / 28) and row["feminine"] == pytest.approx(100 * 2 / 28)
    assert row["unspecified"] == pytest.approx(100 * 1 / 28) and row["n_doc_w_match"] == pytest.approx(100.0)
    assert row["ste_diff_fem_masc"] == pytest.approx(_reference_ste([-1, 0, 1, 1] + [0] * 24), rel=1e-12)
    # Markdown views: at most 8 columns, every column in the CSV
    for name in ("gender_gap", "gender_gap_reference", "languages"):
        header = (out / "tables" / f"{name}.md").read_text().splitlines()[2]
        assert header.count("|") - 1 <= 8, name
    assert len(read_csv(out / "tables" / "gender_gap.csv")[0]) == 25
    markdown = (out / "tables" / "gender_gap.md").read_text()
    assert "| en | English | 2 | 28 | 10.71 | 7.14 | 3.57 | 100.0 \u2020 |" in markdown
    assert str(lexicon) not in markdown  # no local path in a published table


def test_no_flag_from_thirty_documents(tmp_path: Path) -> None:
    text = "The weather was lovely this morning, so my mother walked to the market and bought fresh bread."
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": f"d{i}", "text": text} for i in range(30)])
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out, "--stages", "langid,gender_gap") == 0
    for name in ("languages", "gender_gap", "gender_gap_reference"):
        assert SMALL_SAMPLE_MARK not in (out / "tables" / f"{name}.md").read_text(), name
        assert {row[-1] for row in read_csv(out / "tables" / f"{name}.csv")[1:]} == {"False"}, name


def test_csv_cell_with_a_carriage_return_stays_one_record() -> None:
    import csv
    import io

    table = pa.table({"group": ["a\rb", "=1+1", "plain"], "documents": [1, -2, 3]})
    text = table_to_csv(table).decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["group", "documents"], ["a\rb", "1"], ["'=1+1", "-2"], ["plain", "3"]]
    assert text.endswith('plain,3\n') and text.startswith("group,documents\n")
