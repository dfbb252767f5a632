"""Publishable reports (issue 15, "False today"): every statement of the datasheet and the plots true.

Each test here failed on main before the fix: a stage that was not computed described as scored,
denominators named wrongly, local paths in the published datasheet, runs that did not complete
reported on.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import SENTENCES, SHARED_DATA, run_audit, write_jsonl
from corpus_audit.rundir.run_directory import MANIFEST_NAME
from corpus_audit.cli import main
from corpus_audit.report import load_run
from corpus_audit.report.sections import descriptors as descriptor_section
from corpus_audit.report.sections import pronouns as pronoun_section

OFFICIAL_V11 = SHARED_DATA / "holistic_bias" / "v1.1" / "descriptors.json"


def _corpus(root: Path) -> Path:
    english = [
        "She said the gay and lesbian couple met a Christian priest and an American teacher.",
        "He told them the queer artist and the trans writer were friends of the Muslim family.",
        "They walked to the market; the white house and the black cat were there, he said.",
        "I think you should read about Chinese and Indian food, she wrote to her friend.",
    ]
    records = [{"id": f"en{i}", "text": text} for i, text in enumerate(english)]
    records += [{"id": "fr0", "text": SENTENCES["fr"]}, {"id": "de0", "text": SENTENCES["de"]}]
    (root / "corpus").mkdir()
    return write_jsonl(root / "corpus" / "part.jsonl", records)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    """A real run of every stage (the toxicity model is not available offline: not computed)."""
    root = tmp_path_factory.mktemp("publishable")
    out = root / "run"
    args = ["--output", out]
    if OFFICIAL_V11.is_file():
        args += ["--holistic-bias-descriptors", OFFICIAL_V11]
    assert run_audit(_corpus(root), *args) == 0
    return out


def _datasheet(run: Path) -> str:
    return (run / "datasheet.md").read_text(encoding="utf-8")


def _section(text: str, heading_start: str) -> str:
    """The datasheet's text from the heading starting with ``heading_start`` to the next heading of any level."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip("#").strip().startswith(heading_start))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start:end])


# ----------------------------------------------------------------------------- 1. not computed


def test_toxicity_not_computed_is_said_with_its_reason(real_run: Path) -> None:
    summary = json.loads((real_run / "summary.json").read_text())
    toxicity = summary["stages"]["toxicity"]
    if toxicity.get("status") == "computed":  # pragma: no cover - a machine with the model cached
        pytest.skip("the toxicity model is available here")
    text = _section(_datasheet(real_run), "Toxicity")
    assert "**Not computed**" in text
    assert toxicity["reason"].rstrip(".") in text
    assert "sampled estimates" not in text and "scored with" not in text
    assert "estimated on a sample" not in _datasheet(real_run)  # the introduction does not claim it either
    assert not (real_run / "plots" / "toxicity.png").exists()


def test_a_stage_that_scored_nothing_is_not_computed(real_run: Path, tmp_path: Path) -> None:
    """Status "computed" but no document scored: still "Not computed", never an empty histogram."""
    copy = tmp_path / "run"
    shutil.copytree(real_run, copy)
    summary = json.loads((copy / "summary.json").read_text())
    summary["stages"]["toxicity"].update({"status": "computed", "documents_sampled": 0})
    summary["stages"]["toxicity"].pop("reason", None)
    (copy / "summary.json").write_text(json.dumps(summary))
    assert main(["datasheet", str(copy)]) == 0
    text = _section(_datasheet(copy), "Toxicity")
    assert "**Not computed**" in text and "no document was scored" in text
    assert "sampled estimates" not in text


# ----------------------------------------------------------------------------- 2. denominators


def test_every_denominator_is_named(real_run: Path) -> None:
    run = load_run(str(real_run))
    english = next(int(r["documents"]) for r in run.table("languages") if r["language"] == "en")
    assert english < run.documents_analysed  # the corpus has French and German documents too
    text = _datasheet(real_run)
    descriptors = _section(text, "Demographic representation: HolisticBias")
    assert "percent of all analysed documents" not in descriptors
    assert f"of the {english:,} English documents" in descriptors
    assert f"{english:,} English documents" in _section(text, "Demographic representation: pronouns")
    for section in (descriptor_section, pronoun_section):
        figure = section.plot(run)
        title = figure._suptitle.get_text()
        assert f"of {english:,} English documents" in title, title
        assert f"({run.documents_analysed:,} documents)" not in title


# ----------------------------------------------------------------------------- 4. local paths


def test_no_local_path_in_published_artefacts(real_run: Path) -> None:
    summary_text = (real_run / "summary.json").read_text()
    assert str(real_run.parent) in summary_text  # summary.json keeps them for the operator
    for name in ("datasheet.md", "datasheet.html"):
        text = (real_run / name).read_text(encoding="utf-8")
        assert str(real_run.parent) not in text, name
        assert "site-packages" not in text and "/work/" not in text, name
    assert "lid.176.ftz" in _datasheet(real_run)  # named, with its sha256
    assert json.loads(summary_text)["stages"]["langid"]["model_sha256"] in _datasheet(real_run)


# ----------------------------------------------------------------------------- incomplete runs


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("corpus-audit: error: "), err
    return err[0]


def test_report_refuses_an_incomplete_run(real_run: Path, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "run"
    shutil.copytree(real_run, copy)
    (copy / MANIFEST_NAME).write_text(json.dumps({"tool": "corpus-audit", "status": "running",
                                                             "files": []}))
    for argv in (["report", str(copy)], ["datasheet", str(copy)]):
        assert main(argv) == 2
        assert "incomplete" in _one_error_line(capsys)
    (copy / MANIFEST_NAME).write_text(json.dumps({"tool": "corpus-audit", "status": "complete",
                                                             "files": []}))
    assert main(["datasheet", str(copy)]) == 0
    (copy / MANIFEST_NAME).unlink()  # older runs have no manifest: still accepted
    assert main(["datasheet", str(copy)]) == 0


# ----------------------------------------------------------------------------- beyond: Llama 2, language names


def test_llama2_side_by_side_from_shipped_data(real_run: Path) -> None:
    from corpus_audit.report.llama2 import llama2_figures, llama2_rows

    figures = llama2_figures()
    assert figures["descriptor_axes"]["rows"]["nationality"] == 14.83  # SPEC §4
    assert figures["pronouns"]["rows"]["she"] == 28.45  # SPEC §3
    assert all(spec["source"].startswith("Llama 2, ") for key, spec in figures.items() if not key.startswith("_"))
    run = load_run(str(real_run))
    rows = llama2_rows(run)
    pronouns = {r["key"]: r for r in rows if r["metric"] == "pronouns"}
    she = next(r for r in run.table("pronouns") if r["group"] == "she")
    assert pronouns["she"]["this_corpus"] == she["percent"] and pronouns["she"]["llama2"] == 28.45
    text = _section(_datasheet(real_run), "Beside Llama 2")
    assert "| pronouns | she |" in text and "Table 9a" in _datasheet(real_run)
    assert not any(r["metric"] == "toxicity" for r in rows)  # not computed here: never compared


def test_llama2_columns_add_up_as_shown(real_run: Path) -> None:
    from decimal import Decimal

    text = _section(_datasheet(real_run), "Beside Llama 2")
    she_row = next(line for line in text.splitlines() if line.startswith("| pronouns | she |"))
    ours, theirs, difference = [cell.strip() for cell in she_row.split("|")[3:6]]
    assert theirs == "28.45"  # the paper's figure with its published precision
    she = next(r for r in load_run(str(real_run)).table("pronouns") if r["group"] == "she")
    assert ours.rstrip("†") == f"{she['percent']:.2f}"
    assert Decimal(ours.rstrip("†")) - Decimal(theirs) == Decimal(difference)
    # Every row adds up as shown; the paper's figures keep their decimals (61.80, not 61.8).
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        if len(cells) == 6 and cells[0] in ("pronouns", "descriptor axis", "descriptor", "language"):
            assert Decimal(cells[2].rstrip("†")) - Decimal(cells[3]) == Decimal(cells[4]), line
    assert "| pronouns | second_person |" not in text or "| 61.80 |" in text


def test_language_names_beside_codes(real_run: Path) -> None:
    from corpus_audit.report.formatting import language_label

    assert language_label("nds") == "nds — Low German"
    assert language_label("en") == "en — English"
    assert language_label("zz-not-a-code") == "zz-not-a-code"
    assert "| en — English |" in _section(_datasheet(real_run), "Languages")


def test_a_stage_that_produced_no_number_lists_no_settings(tmp_path) -> None:
    """Issue 29: ~20 zero toxicity settings were listed when toxicity did not run: a stage whose
    status is not computed shows its status, reason and model only."""
    from conftest import REPO_ROOT, run_audit

    out = tmp_path / "run"
    assert run_audit(REPO_ROOT / "examples" / "sample_corpus" / "forum-00000.jsonl", "--output", out,
                     "--stages", "langid,toxicity", "--toxicity-model", str(tmp_path / "no-such-model")) == 0
    text = (out / "datasheet.md").read_text(encoding="utf-8")
    block = text.split("- `toxicity`", 1)[1].split("\n\n", 1)[0]
    names = [line.strip().split(":")[0].lstrip("- ") for line in block.splitlines() if line.strip()]
    assert names == ["status", "reason", "model"], block


def test_the_group_by_breakdown_is_in_the_datasheet_and_the_card(tmp_path) -> None:
    """Issue 29: the --group-by breakdown was in neither the datasheet nor the card."""
    import csv

    from conftest import REPO_ROOT, run_audit
    from corpus_audit.cli import main

    out = tmp_path / "run"
    assert run_audit(REPO_ROOT / "examples" / "sample_corpus", "--output", out, "--group-by", "source",
                     "--stages", "langid,pronouns") == 0
    rows = list(csv.DictReader((out / "tables" / "languages_by_source.csv").open(encoding="utf-8")))
    books = max((r for r in rows if r["source"] == "books"), key=lambda r: int(r["documents"]))
    expected = f"| books | {int(books['denominator']):,} | {books['language']} ("
    datasheet = (out / "datasheet.md").read_text(encoding="utf-8")
    assert "### Breakdown by source" in datasheet and expected in datasheet
    assert main(["datasheet", str(out), "--format", "hf-card"]) == 0
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "### Breakdown by source" in card and expected in card
    assert main(["run", str(REPO_ROOT / "examples" / "sample_corpus"), "--output", str(tmp_path / "plain"),
                 "--stages", "langid", "--quiet"]) == 0
    assert "Breakdown by" not in (tmp_path / "plain" / "datasheet.md").read_text(encoding="utf-8")
