"""Reports: plots, datasheet, metadata YAML, run comparison, Wilson CI, exploration notebook.

The datasheet is checked by parsing its Markdown tables back and comparing them with the run's
Parquet tables (and, for synthetic runs, with counts taken from the per-document labels).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REPO_ROOT, SENTENCES, run_audit, write_jsonl
from corpus_audit.cli import main
from corpus_audit.rundir.tables import write_table
from corpus_audit.stats import wilson_percent_interval as wilson_interval
from corpus_audit.report.metadata import PROMPTS
from report_synthetic import make_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_PLOTS = ("languages", "pronouns", "descriptors", "gender_gap", "toxicity")


# ----------------------------------------------------------------------------- helpers


def parse_markdown_tables(text: str) -> dict[str, list[list[dict[str, str]]]]:
    """Heading text → the Markdown tables under it (each a list of {column: cell})."""
    sections: dict[str, list[list[dict[str, str]]]] = {}
    heading = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            i += 1
            continue
        if line.startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [c.strip() for c in line.strip("|").split(" | ")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip()[1:-1].split(" | ")]
                rows.append(dict(zip(header, cells)))
                i += 1
            sections.setdefault(heading, []).append(rows)
            continue
        i += 1
    return sections


def section(tables: dict, prefix: str) -> list[list[dict[str, str]]]:
    matches = [value for key, value in tables.items() if key.startswith(prefix)]
    assert len(matches) == 1, (prefix, list(tables))
    return matches[0]


def code_of(cell: str) -> str:
    """The language code of a datasheet cell (``en — English`` → ``en``)."""
    return cell.split(" — ")[0].removesuffix(" (no language above the threshold)")


def num(cell: str) -> float:
    return float(cell.replace(",", "").strip("`").rstrip("†"))


def assert_percent(cell: str, value: float, denominator: int | None = None) -> None:
    """``cell`` shows ``value`` (a percent of the tables, full precision) with the datasheet's rule:
    1 decimal, 2 under 1% (0.995 and up: 1.0), ``<0.01`` for a positive share below that; ``†`` iff ``denominator`` < 30."""
    assert cell.endswith("†") == (denominator is not None and denominator < 30), (cell, denominator)
    text = cell.rstrip("†")
    if 0 < value < 0.005:
        assert text == "<0.01", (cell, value)
        return
    decimals = 2 if abs(value) < 0.995 and value != 0 else 1  # 0.995 and up round to 1.0
    assert len(text.partition(".")[2]) == decimals, (cell, value)
    assert abs(num(text) - value) <= 0.5 * 10 ** -decimals + 1e-9, (cell, value)


def read_table(run: Path, name: str) -> list[dict]:
    return pq.read_table(run / "tables" / f"{name}.parquet").to_pylist()


def read_documents(run: Path) -> list[dict]:
    rows: list[dict] = []
    for path in sorted((run / "documents").glob("*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("corpus-audit: error: ")
    return err[0]


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory) -> Path:
    run = make_run(tmp_path_factory.mktemp("synthetic") / "run", seed=3, documents=1500)
    assert main(["report", str(run), "--svg"]) == 0
    return run


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    """A real run of the shipped sample corpus (langid is the only stage in this branch)."""
    out = tmp_path_factory.mktemp("sample") / "audit-sample"
    assert run_audit(REPO_ROOT / "examples" / "sample_corpus", "--output", out, "--group-by", "source") == 0
    return out


# ----------------------------------------------------------------------------- Wilson


def _score_bound(successes: int, trials: int, upper: bool, z: float = 1.959963984540054) -> float:
    """The Wilson bound from its definition: the p where |p̂ − p| = z·sqrt(p(1 − p)/n), by bisection."""
    share = successes / trials
    low, high = (share, 1.0) if upper else (0.0, share)
    for _ in range(100):
        middle = (low + high) / 2
        outside = abs(share - middle) > z * (middle * (1 - middle) / trials) ** 0.5
        if outside == upper:
            high = middle
        else:
            low = middle
    return 100 * (low + high) / 2


def test_wilson_interval_matches_its_definition() -> None:
    # Closed forms: 0/n → [0, z²/(n+z²)], n/n → [n/(n+z²), 1]; 5/10 is symmetric about 50%.
    assert wilson_interval(0, 10) == pytest.approx((0.0, 27.7533), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((72.2467, 100.0), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((23.6593, 76.3407), abs=1e-4)
    assert wilson_interval(1, 100) == pytest.approx((0.18, 5.45), abs=0.01)  # Brown, Cai & DasGupta (2001)
    for successes, trials in [(15, 148), (2, 478), (1, 3), (981, 1000), (7, 100_000)]:
        expected = (_score_bound(successes, trials, False), _score_bound(successes, trials, True))
        assert wilson_interval(successes, trials) == pytest.approx(expected, abs=1e-4), (successes, trials)
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


# ----------------------------------------------------------------------------- datasheet numbers


def test_datasheet_numbers_equal_the_tables(synthetic_run: Path) -> None:
    run = synthetic_run
    summary = json.loads((run / "summary.json").read_text())
    tables = parse_markdown_tables((run / "datasheet.md").read_text())
    documents = read_documents(run)

    size = {r["quantity"]: num(r["value"]) for r in section(tables, "Size")[0]}
    assert size["documents read"] == summary["documents_read"]
    assert size["documents analysed"] == summary["documents_analysed"] == len(documents)
    assert size["documents skipped"] == sum(summary["documents_skipped"].values()) == 5
    assert size["bytes read (uncompressed records)"] == summary["bytes_read"]
    languages = read_table(run, "languages")
    assert size["characters analysed"] == sum(r["characters"] for r in languages)

    skipped = {r["reason"].strip("`"): num(r["documents"]) for r in section(tables, "Skipped input")[0]}
    assert skipped == summary["documents_skipped"]

    # Languages: top 20 as in the table, then one "other" row; counts also match the documents.
    shown = section(tables, "Languages")[0]
    assert any(" — " in r["language"] for r in shown)  # names beside codes (langcodes)
    for r in shown:
        r["language"] = code_of(r["language"])
    by_language = {r["language"]: r for r in languages}
    per_document = Counter(d["language"] for d in documents)
    assert [r["language"] for r in shown[:20]] == [r["language"] for r in languages[:20]]
    for row in shown[:20]:
        table_row = by_language[row["language"]]
        assert num(row["documents"]) == table_row["documents"] == per_document[row["language"]]
        assert_percent(row["percent"], table_row["percent"], len(documents))
        assert num(row["characters"]) == table_row["characters"]
    other = shown[20]
    assert other["language"] == f"other ({len(languages) - 20} languages)"
    assert num(other["documents"]) == sum(r["documents"] for r in languages[20:])
    assert_percent(other["percent"], 100 * num(other["documents"]) / len(documents), len(documents))

    pronouns = {r["group"]: r for r in read_table(run, "pronouns")}
    rows = section(tables, "Demographic representation: pronouns")[0]
    assert [r["group"].strip("`") for r in rows] == list(pronouns)
    for row in rows:
        expected = pronouns[row["group"].strip("`")]
        assert num(row["documents"]) == expected["documents"]
        assert num(row["denominator"]) == expected["denominator"]
        assert_percent(row["percent"], expected["percent"], expected["denominator"])
    english = [d for d in documents if d["language"] == "en"]
    she = sum(1 for d in english if d["doc_has_she_pronoun"])
    assert num(next(r for r in rows if r["group"] == "`she`")["documents"]) == she

    axes_rows, top_rows = section(tables, "Demographic representation: HolisticBias")
    axes = read_table(run, "descriptor_axes")
    assert [(r["axis"], num(r["documents"])) for r in axes_rows] == [(r["axis"], r["documents"]) for r in axes]
    for row, expected in zip(axes_rows, axes):
        assert_percent(row["percent"], expected["percent"], len(english))
    descriptors = read_table(run, "descriptors")
    for axis in (r["axis"] for r in axes):
        listed = [r for r in top_rows if r["axis"] == axis]
        of_axis = [r for r in descriptors if r["axis"] == axis and r["documents"] > 0]
        expected_counts = sorted((r["documents"] for r in of_axis), reverse=True)[:5]
        assert [num(r["documents"]) for r in listed] == expected_counts
        for row in listed:
            match = next(r for r in of_axis if r["descriptor"] == row["descriptor"])
            assert num(row["documents"]) == match["documents"]
            axis_documents = next(r["documents"] for r in axes if r["axis"] == axis)
            assert_percent(row["percent"], match["percent"], axis_documents)
            assert num(row["rank"]) == match["rank"]
            with_descriptor = sum(1 for d in documents if f"{axis}:{row['descriptor']}" in d["holistic_bias_descriptors"])
            assert num(row["documents"]) == with_descriptor

    gap_rows = section(tables, "Gendered person nouns")[0]
    for r in gap_rows:
        r["language"] = code_of(r["language"])
    gap = {r["language"]: r for r in read_table(run, "gender_gap")}
    with_lexicon = [r for r in gap.values() if r["lexicon"] != "no_lexicon"]
    assert sorted(r["language"] for r in gap_rows) == sorted(r["language"] for r in with_lexicon)
    for row in gap_rows:
        expected = gap[row["language"]]
        assert len(row) <= 8  # a compact view: tokens and rates stay in the CSV
        for column in ("documents", "masculine", "feminine", "unspecified"):
            assert num(row[column]) == expected[column], column
        few = expected["masculine"] + expected["feminine"] + expected["unspecified"] < 30
        for column in ("masculine_share", "feminine_share"):
            assert row[column].endswith("‡") == few  # a share over a handful of matched nouns is marked
            assert_percent(row[column].removesuffix("‡"), expected[column])
        assert_percent(row["percent"], expected["percent"], expected["documents"])
        feminine = sum(d["gender_gap_feminine"] for d in documents if d["language"] == row["language"])
        assert num(row["feminine"]) == feminine

    toxicity_overall, histogram = section(tables, "Toxicity")[:2]
    overall = next(r for r in read_table(run, "toxicity_summary") if r["scope"] == "all")
    values = {r["quantity"]: num(r["value"]) for r in toxicity_overall}
    scored = [d["toxicity"] for d in documents if d["toxicity"] is not None]
    assert values["documents scored (sample)"] == overall["documents"] == len(scored)
    assert values["toxic documents (score ≥ 0.5)"] == overall["toxic_documents"] == sum(s >= 0.5 for s in scored)
    cells = {r["quantity"]: r["value"] for r in toxicity_overall}
    assert_percent(cells["percent toxic (sampled estimate)"], overall["percent"], overall["documents"])
    low, high = wilson_interval(overall["toxic_documents"], overall["documents"])
    assert_percent(cells["95% CI low (Wilson)"], low)
    assert_percent(cells["95% CI high (Wilson)"], high)
    assert values["score mean"] == pytest.approx(overall["mean"], abs=0.005)
    expected_histogram = sorted(read_table(run, "toxicity_histogram"), key=lambda r: r["bin_lower"])
    assert [(num(r["bin_lower"]), num(r["documents"])) for r in histogram] == \
        [(pytest.approx(r["bin_lower"]), r["documents"]) for r in expected_histogram]
    text = (run / "datasheet.md").read_text()
    # Per-language toxicity: every row flagged exactly when fewer than 30 documents were scored,
    # and its Wilson interval kept (issue 15, "Small samples").
    by_language = section(tables, "Toxicity")[2]
    groups = {r["group"]: r for r in read_table(run, "toxicity_summary") if r["scope"] == "language"}
    for row in by_language:
        expected = groups[row["language"]]
        assert_percent(row["percent"], expected["percent"], expected["documents"])
        low, high = wilson_interval(expected["toxic_documents"], expected["documents"])
        assert_percent(row["ci_low"], low)
        assert_percent(row["ci_high"], high)
    assert any(r["percent"].endswith("†") for r in by_language) and not by_language[0]["percent"].endswith("†")
    assert "† fewer than 30 documents in the denominator" in text
    assert "**These numbers are sampled estimates.**" in text
    assert "--toxicity-sample-rate 0.3" in text and "~" not in text.split("These numbers")[1][:300]


def test_datasheet_sections_prompts_and_settings(synthetic_run: Path) -> None:
    text = (synthetic_run / "datasheet.md").read_text()
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings == ["1. Motivation", "2. Composition", "3. Collection process",
                        "4. Preprocessing, cleaning and labeling", "5. Uses", "6. Distribution", "7. Maintenance"]
    for section_name, questions in PROMPTS.items():
        for key, question in questions.items():
            assert f"> **[Authors: {question}]** (`{section_name}.{key}`)" in text
    # The settings appendix is a short nested list ("- `stage`" then "  - setting: value"), never a
    # table cell of JSON or a Python dict repr (issue 15).
    recorded: dict[tuple[str, str], str] = {}
    stage = ""
    for line in text.split("### The audit run (labels added to each document)")[1].split("\n## ")[0].splitlines():
        if line.startswith("- "):
            stage = line[2:].strip("`")
        elif line.startswith("  - "):
            key, _, value = line[4:].partition(": ")
            recorded[(stage, key)] = value
            assert len(value) <= 200 and "{" not in value and "'" not in value, line
    assert ("langid", "threshold") in recorded and ("reading", "text_field") in recorded
    assert recorded[("descriptors", "lexicon_version")] == "v1.1"
    assert recorded[("toxicity", "model")] == "tomh/toxigen_hatebert"
    # How the run executed (command, runner, workers) stays in summary.json: the datasheet is the
    # same whatever the runner (issue 7).
    assert "corpus-audit run data/synthetic --output" not in text and "DirectRunner" not in text
    assert "12.5" not in text and "wall_seconds" not in text  # timings stay out of the datasheet
    for name in ALL_PLOTS:
        assert f"](plots/{name}.png)" in text
    page = (synthetic_run / "datasheet.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<table>") == sum(len(v) for v in parse_markdown_tables(text).values())
    assert page.count('class="prompt"') == sum(len(q) for q in PROMPTS.values())


def test_sections_not_run_or_not_computed(tmp_path: Path) -> None:
    only_langid = make_run(tmp_path / "langid-only", documents=200, stages=("langid",))
    assert main(["report", str(only_langid)]) == 0
    text = (only_langid / "datasheet.md").read_text()
    assert text.count("**Not run:**") == 4
    assert "stage `toxicity`" in text and "| group | label |" not in text
    assert sorted(p.name for p in (only_langid / "plots").iterdir()) == ["languages.png"]  # SVG only with --svg
    assert main(["report", str(only_langid), "--svg"]) == 0
    assert sorted(p.name for p in (only_langid / "plots").iterdir()) == ["languages.png", "languages.svg"]
    assert main(["report", str(only_langid)]) == 0  # a report without --svg leaves no SVG of an earlier one
    assert sorted(p.name for p in (only_langid / "plots").iterdir()) == ["languages.png"]

    reason = "cannot load tomh/toxigen_hatebert: no such directory /models/hatebert"
    failed = make_run(tmp_path / "no-model", documents=200,
                      toxicity_status={"status": "model_unavailable", "reason": reason})
    assert main(["report", str(failed)]) == 0
    text = (failed / "datasheet.md").read_text()
    assert f"**Not computed** (`model_unavailable`): {reason}." in text
    assert "Not run" not in text
    assert not (failed / "plots" / "toxicity.png").exists()
    assert (failed / "plots" / "gender_gap.png").exists()


# ----------------------------------------------------------------------------- plots


def test_plots_are_valid_nonblank_images(synthetic_run: Path) -> None:
    import xml.etree.ElementTree as ElementTree

    import matplotlib.image

    for name in ALL_PLOTS:
        png = synthetic_run / "plots" / f"{name}.png"
        data = png.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000, name
        pixels = matplotlib.image.imread(png)
        assert pixels.shape[0] >= 300 and pixels.shape[1] >= 700, (name, pixels.shape)
        assert pixels[..., :3].std() > 0.05, f"{name} looks blank"
        svg = (synthetic_run / "plots" / f"{name}.svg").read_text()
        root = ElementTree.fromstring(svg)
        assert root.tag.endswith("svg")
        assert "<dc:date>" not in svg


# ----------------------------------------------------------------------------- reproducibility


def test_report_is_reproducible(synthetic_run: Path, tmp_path: Path) -> None:
    files = ["datasheet.md", "datasheet.html", *[f"plots/{n}.{e}" for n in ALL_PLOTS for e in ("png", "svg")]]
    first = {name: (synthetic_run / name).read_bytes() for name in files}
    assert main(["report", str(synthetic_run), "--svg"]) == 0
    assert {name: (synthetic_run / name).read_bytes() for name in files} == first
    # Same tables elsewhere, with other timings: the same datasheet, byte for byte.
    copy = tmp_path / "copy"
    shutil.copytree(synthetic_run, copy)
    summary = json.loads((copy / "summary.json").read_text())
    summary["timings"] = {"wall_seconds": 999.0, "mb_per_second": 1.0, "documents_per_second": 2.0}
    (copy / "summary.json").write_text(json.dumps(summary))
    for name in files:
        (copy / name).unlink()
    assert main(["report", str(copy)]) == 0
    assert (copy / "datasheet.md").read_bytes() == first["datasheet.md"]
    assert (copy / "plots" / "toxicity.png").read_bytes() == first["plots/toxicity.png"]


# ----------------------------------------------------------------------------- real run


def test_sample_run_writes_report_matching_its_tables(sample_run: Path) -> None:
    assert (sample_run / "plots" / "languages.png").read_bytes().startswith(PNG_SIGNATURE)
    for name in ("pronouns", "descriptors", "gender_gap"):  # a plot exactly for each table the run wrote
        assert (sample_run / "plots" / f"{name}.png").exists() == (sample_run / "tables" / f"{name}.parquet").exists()
    written = (sample_run / "datasheet.md").read_bytes()
    text = written.decode()
    assert text.startswith("# Datasheet: sample_corpus\n")
    rows = section(parse_markdown_tables(text), "Languages")[0]
    with open(sample_run / "tables" / "languages.csv", encoding="utf-8") as f:
        expected = list(csv.DictReader(f))
    assert len(expected) <= 20 and len(rows) == len(expected)
    for row, table_row in zip(rows, expected):
        assert code_of(row["language"]) == table_row["language"]
        assert num(row["documents"]) == int(table_row["documents"])
        assert_percent(row["percent"], float(table_row["percent"]), 400)
    size = {r["quantity"]: num(r["value"]) for r in section(parse_markdown_tables(text), "Size")[0]}
    assert size["documents analysed"] == 400 == sum(int(r["documents"]) for r in expected)
    # Each analysis section whose stage is not in this run says so.
    summary = json.loads((sample_run / "summary.json").read_text())
    missing = {"pronouns", "descriptors", "gender_gap", "toxicity"} - set(summary["stages"])
    assert text.count("**Not run:**") == len(missing)
    # `report` regenerates exactly what the run wrote.
    assert main(["report", str(sample_run)]) == 0
    assert (sample_run / "datasheet.md").read_bytes() == written


def test_run_survives_a_failing_report(tmp_path: Path, monkeypatch, capsys) -> None:
    import corpus_audit.report as report

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(report, "write_report", broken)
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": str(i), "text": SENTENCES["en"]} for i in range(3)])
    assert run_audit(shard, "--output", tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "warning: plots/datasheet not written (RuntimeError: disk on fire)" in err
    assert (tmp_path / "out" / "tables" / "languages.csv").exists()


# ----------------------------------------------------------------------------- metadata


def test_metadata_fills_prompts(synthetic_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(synthetic_run, run)
    meta = tmp_path / "meta.yaml"
    meta.write_text("name: Example Web Corpus 2024\n"
                    "motivation:\n  purpose: |\n    Pretraining a small multilingual model.\n\n    Second paragraph <b>.\n"
                    "distribution:\n  license: CC-BY-4.0\n", encoding="utf-8")
    before = (run / "plots" / "languages.png").read_bytes()
    assert main(["datasheet", str(run), "--metadata", str(meta)]) == 0
    text = (run / "datasheet.md").read_text()
    assert text.startswith("# Datasheet: Example Web Corpus 2024\n")
    purpose = PROMPTS["motivation"]["purpose"]
    # An answer's raw HTML is shown as written, never markup (issue 28 item 6: escaped as \<b>).
    assert f"**{purpose}**\n\nPretraining a small multilingual model.\n\nSecond paragraph \\<b>." in text
    assert f"[Authors: {purpose}]" not in text
    assert "**Under which licence or terms of use?**\n\nCC-BY-4.0" in text
    assert f"[Authors: {PROMPTS['motivation']['funding']}]" in text
    assert text.count("> **[Authors: ") == sum(len(q) for q in PROMPTS.values()) - 2
    page = (run / "datasheet.html").read_text()
    assert "<p>Second paragraph &lt;b&gt;.</p>" in page
    assert (run / "plots" / "languages.png").read_bytes() == before  # `datasheet` leaves the plots alone


def test_the_authors_answers_are_kept_by_later_reports(synthetic_run: Path, tmp_path: Path) -> None:
    """``report RUN`` after ``datasheet RUN --metadata meta.yaml`` rewrote the datasheet without the
    answers: they are kept in the run (replaced only by a new --metadata), for the card too."""
    run = tmp_path / "run"
    shutil.copytree(synthetic_run, run)
    meta, newer = tmp_path / "meta.yaml", tmp_path / "newer.yaml"
    meta.write_text("name: Kept Corpus\ndistribution:\n  license: CC-BY-4.0\n", encoding="utf-8")
    newer.write_text("name: Newer Corpus\n", encoding="utf-8")
    assert main(["datasheet", str(run), "--metadata", str(meta)]) == 0
    assert main(["report", str(run)]) == 0
    text = (run / "datasheet.md").read_text()
    assert text.startswith("# Datasheet: Kept Corpus\n") and "CC-BY-4.0" in text
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    assert "Kept Corpus" in (run / "README.md").read_text()
    assert main(["datasheet", str(run), "--metadata", str(newer)]) == 0
    assert main(["report", str(run)]) == 0
    text = (run / "datasheet.md").read_text()
    assert text.startswith("# Datasheet: Newer Corpus\n") and "CC-BY-4.0" not in text
    assert (run / "datasheet-metadata.yaml").read_text(encoding="utf-8") == newer.read_text(encoding="utf-8")


def test_kept_answers_are_the_runs_own_file(sample_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(sample_run, run)
    meta = tmp_path / "meta.yaml"
    meta.write_text("name: Kept Corpus\n", encoding="utf-8")
    assert main(["datasheet", str(run), "--metadata", str(meta)]) == 0
    assert "datasheet-metadata.yaml" in json.loads((run / "corpus-audit-run.json").read_text())["files"]
    assert run_audit(REPO_ROOT / "examples" / "sample_corpus", "--output", run, "--overwrite", "--stages", "langid") == 0
    assert not (run / "datasheet-metadata.yaml").exists()  # replaced with the rest of the old run


@pytest.mark.parametrize("content, message", [
    ("motivation: [unclosed\n", "not valid YAML at line"),
    ("- a\n- b\n", "expected a mapping of datasheet sections at the top level, got list"),
    ("", "the file is empty"),
    ("motivaton:\n  purpose: x\n", "unknown key 'motivaton' (did you mean 'motivation'?)"),
    ("motivation:\n  purpos: x\n", "unknown question motivation.purpos (did you mean 'purpose'?)"),
    ("motivation: just text\n", "section 'motivation' must be a mapping of questions, got str"),
    ("uses:\n  intended: [a, b]\n", "uses.intended must be text, got list"),
    ("uses:\n  intended:\n", "uses.intended must be text, got nothing"),
    ("uses:\n  intended: '  '\n", "uses.intended is empty"),
    ("name: !!python/object/apply:os.system ['echo hacked']\n", "not valid YAML"),
])
def test_metadata_errors(synthetic_run: Path, tmp_path: Path, capsys, content: str, message: str) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text(content, encoding="utf-8")
    before = (synthetic_run / "datasheet.md").read_bytes()
    assert main(["datasheet", str(synthetic_run), "--metadata", str(meta)]) == 2
    line = error_line(capsys)
    assert message in line and str(meta) in line
    assert (synthetic_run / "datasheet.md").read_bytes() == before


def test_metadata_file_errors(synthetic_run: Path, tmp_path: Path, capsys) -> None:
    assert main(["datasheet", str(synthetic_run), "--metadata", str(tmp_path / "nope.yaml")]) == 2
    assert "metadata file not found" in error_line(capsys)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (1024 * 1024) + b"\n")
    assert main(["datasheet", str(synthetic_run), "--metadata", str(big)]) == 2
    assert "larger than 1024 KiB" in error_line(capsys)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: Caf\u00e9\n".encode("latin-1"))
    assert main(["datasheet", str(synthetic_run), "--metadata", str(latin)]) == 2
    assert "not UTF-8 text" in error_line(capsys)


def test_report_errors(tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "run directory not found" in error_line(capsys)
    assert main(["report", str(tmp_path)]) == 2
    assert "not a corpus-audit run directory (no summary.json)" in error_line(capsys)
    (tmp_path / "summary.json").write_text("{not json")
    assert main(["report", str(tmp_path)]) == 2
    assert "summary.json is not valid JSON" in error_line(capsys)


# ----------------------------------------------------------------------------- compare


def _tiny_run(path: Path, languages: dict[str, int], skipped: dict[str, int], toxic: tuple[int, int] | None) -> Path:
    total = sum(languages.values())
    write_table(str(path), "languages", pa.table({
        "language": list(languages), "documents": pa.array(list(languages.values()), pa.int64()),
        "percent": [round(100 * n / total, 4) for n in languages.values()],
        "characters": pa.array([100 * n for n in languages.values()], pa.int64())}), "languages", [])
    stages = {"langid": {"model_file": "lid.176.ftz", "threshold": 0.5}}
    if toxic is not None:
        toxic_documents, scored = toxic
        write_table(str(path), "toxicity_summary", pa.Table.from_pylist([{
            "scope": "all", "group": None, "documents": scored, "lines": 3 * scored, "toxic_documents": toxic_documents,
            "percent": round(100 * toxic_documents / scored, 4), "mean": 0.1}]), "toxicity", [])
        stages["toxicity"] = {"model": "tomh/toxigen_hatebert", "sample_rate": 0.1}
    summary = {"documents_read": total + sum(skipped.values()), "documents_analysed": total,
               "documents_skipped": skipped, "bytes_read": 1000 * total, "stages": stages,
               "inputs": [str(path)], "timings": {"wall_seconds": 2.0}}
    (path / "summary.json").write_text(json.dumps(summary))
    return path


def test_compare_two_runs(tmp_path: Path, capsys) -> None:
    before = _tiny_run(tmp_path / "before", {"en": 8, "fr": 2}, {"empty_text": 1}, None)
    after = _tiny_run(tmp_path / "after", {"en": 5, "fr": 2, "de": 1}, {"malformed_json": 2}, (1, 4))
    out = tmp_path / "diff.csv"
    assert main(["compare", str(before), str(after), "--output", str(out), "--all"]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    got = {(r["table"], r.get("language") or r.get("reason") or r.get("stage") or "", r["metric"]):
           (r["a"], r["b"], r["difference"]) for r in rows}
    # Hand-computed: before has 10 analysed + 1 skipped, after 8 analysed + 2 skipped.
    assert got[("summary", "", "documents_read")] == ("11", "10", "-1")
    assert got[("summary", "", "documents_analysed")] == ("10", "8", "-2")
    assert got[("summary", "", "bytes_read")] == ("10000", "8000", "-2000")
    assert got[("summary", "", "documents_skipped")] == ("1", "2", "1")
    assert got[("documents_skipped", "empty_text", "documents")] == ("1", "0", "-1")
    assert got[("documents_skipped", "malformed_json", "documents")] == ("0", "2", "2")
    assert got[("languages", "en", "documents")] == ("8", "5", "-3")
    assert got[("languages", "en", "percent")] == ("80.0", "62.5", "-17.5")  # full precision in CSV
    assert got[("languages", "fr", "percent")] == ("20.0", "25.0", "5.0")
    assert got[("languages", "fr", "characters")] == ("200", "200", "0")
    assert got[("languages", "de", "documents")] == ("0", "1", "1")  # 0 of A's analysed documents
    # Toxicity was not run in A, and B wrote its summary table but no histogram: not compared, and
    # the stage is "not run" / "not computed (...)", never "ran".
    assert not any(r["table"].startswith("toxicity") for r in rows)
    assert got[("stages", "toxicity", "status")] == ("not run", "not computed (the run wrote no table for it)",
                                                     "changed")
    assert got[("timings", "", "wall_seconds")] == ("2.0", "2.0", "0.0")

    assert main(["compare", str(before), str(after)]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("# Comparison: before (A) vs after (B)\n")
    assert "| en | percent | 80.00 | 62.50 | -17.50 pp |" in markdown
    assert "| fr | percent | 20.00 | 25.00 | +5.00 pp |" in markdown
    assert "| fr | characters |" not in markdown  # unchanged: only with --all

    assert main(["compare", str(before), str(tmp_path / "nothing")]) == 2
    assert "run directory not found" in error_line(capsys)


# ----------------------------------------------------------------------------- notebook


def _execute_notebook(run_dir: Path, monkeypatch) -> list[str]:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("CORPUS_AUDIT_RUN", str(run_dir))
    notebook = nbformat.read(REPO_ROOT / "notebooks" / "explore.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "commit the notebook without outputs"
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO_ROOT / "notebooks")}}).execute()
    return ["".join(output.get("text", "") for output in cell.get("outputs", []) if output.get("name") == "stdout")
            for cell in notebook.cells if cell.cell_type == "code"]


def test_notebook_runs_on_full_and_sample_runs(synthetic_run: Path, sample_run: Path, monkeypatch) -> None:
    stdout = "\n".join(_execute_notebook(synthetic_run, monkeypatch))
    documents = read_documents(synthetic_run)
    expected = sum(1 for d in documents if d["language"] == "en" and "religion" in d["holistic_bias_axes"]
                   and d["toxicity"] is not None and d["toxicity"] >= 0.5)
    assert f"selected: {expected} documents (language == 'en' and mentions axis 'religion' and toxicity >= 0.5)" in stdout
    assert "1,500 documents in 1 file(s)" in stdout

    stdout = "\n".join(_execute_notebook(sample_run, monkeypatch))
    # The sample run has whichever stages are registered: filter on the columns it has.
    documents = read_documents(sample_run)
    selected = [d for d in documents if d["language"] == "en"]
    filters = ["language == 'en'"]
    if "holistic_bias_axes" in documents[0]:
        selected = [d for d in selected if d["holistic_bias_axes"] and "religion" in d["holistic_bias_axes"]]
        filters.append("mentions axis 'religion'")
    else:
        assert "no 'holistic_bias_axes' column" in stdout
    if "toxicity" in documents[0] and any(d["toxicity"] is not None for d in documents):
        selected = [d for d in selected if d["toxicity"] is not None and d["toxicity"] >= 0.5]
        filters.append("toxicity >= 0.5")
    elif "toxicity" in documents[0]:  # issue 29: 0 rows, unexplained, when toxicity was not computed
        assert "toxicity was not computed in this run" in stdout
    else:
        assert "no 'toxicity' column" in stdout
    assert f"selected: {len(selected)} documents ({' and '.join(filters)})" in stdout
    assert "400 documents in 3 file(s)" in stdout


def test_report_removes_plots_whose_table_is_gone(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", documents=120)
    assert main(["report", str(run)]) == 0
    assert (run / "plots" / "toxicity.png").exists()
    for suffix in ("csv", "parquet", "md"):
        (run / "tables" / f"toxicity_histogram.{suffix}").unlink()
    assert main(["report", str(run)]) == 0
    assert not (run / "plots" / "toxicity.png").exists() and not (run / "plots" / "toxicity.svg").exists()
    assert (run / "plots" / "languages.png").exists()
    assert "](plots/toxicity.png)" not in (run / "datasheet.md").read_text()


# ----------------------------------------------------------------------------- tampered tables


def _tamper(source: Path, target: Path, table: str, edit) -> Path:
    shutil.copytree(source, target)
    path = target / "tables" / f"{table}.parquet"
    rows = pq.read_table(path).to_pylist()
    pq.write_table(pa.Table.from_pylist(edit(rows)), path)
    return target


def _set(column: str, *values):
    def edit(rows: list[dict]) -> list[dict]:
        for row, value in zip(rows, values):
            row[column] = value
        return rows
    return edit


def _drop(column: str):
    return lambda rows: [{k: v for k, v in row.items() if k != column} for row in rows]


@pytest.mark.parametrize("table, edit, message", [
    ("languages", _drop("documents"), "has no column 'documents'"),
    ("languages", _set("documents", -5), "column 'documents', row 1: a negative count (-5)"),
    ("languages", _set("percent", 250.0), "column 'percent', row 1: 250, outside [0, 100] percent"),
    ("languages", _set("percent", 1.0, float("nan")), "column 'percent', row 2: nan (not a finite number)"),
    ("languages", _set("percent", float("inf")), "column 'percent', row 1: inf (not a finite number)"),
    ("pronouns", _set("percent", float("nan")), "table pronouns"),
    ("languages", lambda rows: rows + [dict(rows[0], documents=1)], "repeats the key of row 1 (language="),
    ("descriptors", _drop("descriptor"), "has no column 'descriptor'"),
])
def test_tampered_tables_are_refused(synthetic_run: Path, tmp_path: Path, capsys, table: str, edit,
                                     message: str) -> None:
    run = _tamper(synthetic_run, tmp_path / "run", table, edit)
    for command in (["report", str(run)], ["datasheet", str(run)], ["compare", str(run), str(synthetic_run)]):
        assert main(command) == 2, command
        line = error_line(capsys)
        assert f"{table}.parquet" in line and message in line, line


def test_signed_and_null_figures_are_accepted(synthetic_run: Path, tmp_path: Path) -> None:
    # Null is "not measured"; a negative difference is a figure, not damage.
    run = _tamper(synthetic_run, tmp_path / "run", "gender_gap",
                  lambda rows: [dict(row, feminine_minus_masculine_per_100_tokens=-1.5, percent=None) for row in rows])
    assert main(["datasheet", str(run)]) == 0
