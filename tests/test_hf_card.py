"""The Hugging Face Hub dataset card (issue 15): ``corpus-audit datasheet RUN --format hf-card``.

The card's front matter is parsed back with huggingface_hub's ``DatasetCard`` / ``DatasetCardData``
(offline) and compared with what the run's tables say, counted here by hand; the card never
replaces a README.md corpus-audit did not write. Also the datasheet's number formatting
(1–2 decimals everywhere a person reads) and the small-sample flag.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard, DatasetCardData

from corpus_audit.cli import main
from corpus_audit.rundir.run_directory import MANIFEST_NAME, RunDirectory
from corpus_audit.report.formatting import fmt_percent
from corpus_audit.report.hf_card import CARD_MARKER, hub_language_code, size_category
from report_synthetic import make_run

DOCUMENTS = 1500


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("card") / "run", seed=3, documents=DOCUMENTS)


@pytest.fixture()
def run(run_dir: Path, tmp_path: Path) -> Path:
    """A fresh copy of the synthetic run for each test (cards are written into it)."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def _languages(run: Path) -> list[dict]:
    return pq.read_table(run / "tables" / "languages.parquet").to_pylist()


def _card(path: Path) -> DatasetCard:
    return DatasetCard(path.read_text(encoding="utf-8"))


def test_size_categories_and_language_codes() -> None:
    # The Hub's buckets, at and around their bounds.
    assert [size_category(n) for n in (0, 999, 1000, 1500, 9999, 10_000, 999_999, 1_000_000, 2 * 10**12)] == [
        "n<1K", "n<1K", "1K<n<10K", "1K<n<10K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "n>1T"]
    # ISO 639-1 where it exists, else ISO 639-3; unknown labels are no language.
    assert hub_language_code("en") == "en"
    assert hub_language_code("eng") == "en"
    assert hub_language_code("deu") == "de"
    assert hub_language_code("nds") == "nds"
    assert hub_language_code("unknown") is None
    assert hub_language_code("zz-not-a-code") is None


def test_card_front_matter_validates_and_matches_the_tables(run: Path) -> None:
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    card = _card(run / "README.md")
    # Hand-counted from the languages table: every label but unknown with >= 1% of the documents.
    rows = sorted(_languages(run), key=lambda r: -r["documents"])
    expected = [r["language"] for r in rows if r["language"] != "unknown" and 100 * r["documents"] / DOCUMENTS >= 1]
    assert expected[:2] == ["en", "fr"] and "unknown" not in card.data.language
    assert card.data.language == expected
    assert card.data.size_categories == ["1K<n<10K"]
    assert card.data.pretty_name == "synthetic"
    data = card.data.to_dict()
    assert not {"tags", "task_categories", "license"} & set(data)  # only ever from the metadata
    assert DatasetCardData(**data).to_dict() == data  # round-trips through the Hub's own class
    text = card.text
    assert CARD_MARKER in text
    for heading in ("## Dataset Summary", "## Dataset Structure", "## Bias, Risks, and Limitations", "## Citation"):
        assert f"\n{heading}\n" in text
    # Findings with their denominators; sampled figures keep their Wilson interval.
    english = next(r["documents"] for r in rows if r["language"] == "en")
    assert f"of the {english:,} English documents" in text
    assert "95% Wilson CI" in text and "| percent toxic (sampled estimate) |" in text
    assert "† fewer than 30 documents in the denominator" in text
    assert str(run.parent) not in text  # no local path


def test_card_language_threshold_option(run: Path) -> None:
    assert main(["datasheet", str(run), "--format", "hf-card", "--card-language-threshold", "5"]) == 0
    rows = _languages(run)
    expected = [r["language"] for r in sorted(rows, key=lambda r: -r["documents"])
                if r["language"] != "unknown" and 100 * r["documents"] / DOCUMENTS >= 5]
    assert _card(run / "README.md").data.language == expected == ["en", "fr"]  # de has 4.9%


def test_card_takes_hub_fields_from_the_metadata(run: Path, tmp_path: Path) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text("name: Example Corpus\n"
                    "motivation:\n  creators: The data team\n"
                    "hub:\n  license: cc-by-4.0\n  pretty_name: Example Web Corpus 2024\n"
                    "  tags: [web, pretraining]\n  task_categories: [text-generation]\n"
                    "  citation: |\n    @misc{example2024,\n      title = {Example}\n    }\n", encoding="utf-8")
    out = tmp_path / "card.md"
    assert main(["datasheet", str(run), "--format", "hf-card", "--metadata", str(meta), "--output", str(out)]) == 0
    assert not (run / "README.md").exists()
    card = _card(out)
    assert card.data.license == "cc-by-4.0"
    assert card.data.pretty_name == "Example Web Corpus 2024"
    data = card.data.to_dict()
    assert data["tags"] == ["web", "pretraining"] and data["task_categories"] == ["text-generation"]
    assert DatasetCardData(**data).to_dict() == data
    assert "```bibtex\n@misc{example2024," in card.text
    assert "- **Curated by:** The data team" in card.text
    assert "- **License:** cc-by-4.0" in card.text


def test_card_bad_hub_metadata_is_one_line(run: Path, tmp_path: Path, capsys) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text("hub:\n  licence: mit\n", encoding="utf-8")
    assert main(["datasheet", str(run), "--format", "hf-card", "--metadata", str(meta)]) == 2
    assert "unknown key hub.licence (did you mean 'license'?)" in capsys.readouterr().err
    assert not (run / "README.md").exists()


def test_card_never_overwrites_a_file_it_did_not_write(run: Path, tmp_path: Path, capsys) -> None:
    readme = run / "README.md"
    readme.write_text("# Our own README\n", encoding="utf-8")
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 2
    assert "was not written by corpus-audit" in capsys.readouterr().err
    assert readme.read_text(encoding="utf-8") == "# Our own README\n"
    readme.unlink()
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0  # its own card: replaced
    assert main(["datasheet", str(run), "--format", "hf-card", "--output", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["datasheet", str(run), "--format", "hf-card", "--output", str(tmp_path / "no" / "x.md")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["datasheet", str(run), "--output", str(tmp_path / "x.md")]) == 2  # --output is the card's
    assert "go with --format hf-card" in capsys.readouterr().err


def test_card_in_the_run_is_owned_by_its_manifest(run: Path) -> None:
    """A card written into a completed run is listed in its manifest, so a later run with
    --overwrite replaces the directory instead of refusing README.md as a foreign file."""
    files = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    (run / MANIFEST_NAME).write_text(json.dumps({"tool": "corpus-audit", "status": "complete", "files": files}))
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    assert "README.md" in json.loads((run / MANIFEST_NAME).read_text())["files"]
    RunDirectory(str(run)).prepare(overwrite=True)  # raises on a file the run did not write
    assert not (run / "README.md").exists()


def _completed(run: Path) -> None:
    files = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    (run / MANIFEST_NAME).write_text(json.dumps({"tool": "corpus-audit", "status": "complete", "files": files}))


def test_card_digest_in_the_manifest_guards_an_edited_card(run: Path, capsys) -> None:
    """The card's sha256 is recorded; once someone edits the card (marker kept), neither a second
    card nor a run with --overwrite replaces it: one error line, nothing written or deleted."""
    from corpus_audit.errors import UsageError

    _completed(run)
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    readme = run / "README.md"
    manifest = json.loads((run / MANIFEST_NAME).read_text())
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["digests"]["README.md"])
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0  # unedited: replaced
    edited = readme.read_text(encoding="utf-8") + "\nOur own notes.\n"
    readme.write_text(edited, encoding="utf-8")
    capsys.readouterr()
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "was edited since corpus-audit wrote it" in err[0]
    assert readme.read_text(encoding="utf-8") == edited
    before = sorted(p for p in run.rglob("*"))
    with pytest.raises(UsageError, match="README.md was edited"):
        RunDirectory(str(run)).prepare(overwrite=True)
    assert sorted(p for p in run.rglob("*")) == before and readme.read_text(encoding="utf-8") == edited


def test_manifest_without_digests_still_replaces_an_owned_card(run: Path) -> None:
    _completed(run)
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    manifest = json.loads((run / MANIFEST_NAME).read_text())
    del manifest["digests"]  # as an older corpus-audit wrote it
    (run / MANIFEST_NAME).write_text(json.dumps(manifest))
    (run / "README.md").write_text((run / "README.md").read_text(encoding="utf-8") + "x", encoding="utf-8")
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    RunDirectory(str(run)).prepare(overwrite=True)
    assert not (run / "README.md").exists()


def test_card_says_not_computed(tmp_path: Path) -> None:
    reason = "cannot load tomh/toxigen_hatebert: not in the local cache"
    run = make_run(tmp_path / "run", documents=200,
                   toxicity_status={"status": "model_unavailable", "reason": reason})
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    text = (run / "README.md").read_text(encoding="utf-8")
    assert f"**Not computed** (`model_unavailable`): {reason}." in text
    assert "estimated on a sample" not in text and "sampled estimates" not in text


# ----------------------------------------------------------------------------- numbers


def test_percent_formatting_rule() -> None:
    # Hand-written expectations: 1 decimal, 2 under 1%, never a false zero; † under 30 documents.
    assert [fmt_percent(v) for v in (36.0, 25.0, 68.8667, 0.8667, 0.2, 0.004, 0.0, 100.0, -6.6)] == [
        "36.0", "25.0", "68.9", "0.87", "0.20", "<0.01", "0.0", "100.0", "-6.6"]
    assert fmt_percent(None) == "–"
    assert fmt_percent(4.0, denominator=25) == "4.0†" and fmt_percent(4.0, denominator=30) == "4.0"
    assert fmt_percent(1.3483, "short") == "1.3%"


def test_no_view_has_more_than_two_decimals(run: Path) -> None:
    """Today's ``36.0`` beside ``25.0000`` (issue 15): no number in a table or a measured fact of the
    datasheet or the card has more than 2 decimals (the paper's arXiv id in source lines is no number)."""
    assert main(["datasheet", str(run)]) == 0
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    for name in ("datasheet.md", "datasheet.html", "README.md"):
        text = (run / name).read_text(encoding="utf-8")
        if name.endswith(".html"):
            cells = re.findall(r"<td[^>]*>(.*?)</td>", text)
        else:
            cells = [line for line in text.splitlines() if line.startswith(("| ", "- An ", "- Of ", "- The most"))]
        assert len(cells) > 100, name
        long = [number for cell in cells for number in re.findall(r"(?<![\d.])\d+\.\d{3,}(?![\d.])", cell)]
        assert not long, (name, long[:5])


def test_card_figures_link_to_the_runs_plots_wherever_it_is_written(run: Path, tmp_path: Path) -> None:
    assert main(["report", str(run)]) == 0  # draws plots/
    elsewhere = tmp_path / "cards" / "card.md"
    elsewhere.parent.mkdir()
    assert main(["datasheet", str(run), "--format", "hf-card", "--output", str(elsewhere)]) == 0
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    for card in (elsewhere, run / "README.md"):
        links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", card.read_text(encoding="utf-8"))
        assert links, card
        for link in links:
            assert (card.parent / link).resolve().is_file(), (card, link)
    assert all(link.startswith("plots/") for link in
               re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (run / "README.md").read_text(encoding="utf-8")))


def _edit_summary(run: Path, **changes) -> dict:
    path = run / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    settings = summary.setdefault("settings", {})
    for key, value in changes.items():
        (settings if key in ("limit", "sample_rate") else summary)[key] = value
    path.write_text(json.dumps(summary), encoding="utf-8")
    return summary


def test_partial_audit_is_stated_and_has_no_size_category(run: Path) -> None:
    # --limit stopped the run after as many records as the limit: the corpus' size is unknown.
    read = json.loads((run / "summary.json").read_text(encoding="utf-8"))["documents_read"]
    _edit_summary(run, limit=read)
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    card = _card(run / "README.md")
    assert "size_categories" not in card.data.to_dict()
    note = (f"Partial audit: only the first {read:,} records were read (--limit {read}); figures "
            "describe those records, not the corpus.")
    summary_part = card.text.split("## Dataset Summary", 1)[1].split("## Uses", 1)[0]
    assert note in summary_part
    assert main(["datasheet", str(run)]) == 0
    datasheet = (run / "datasheet.md").read_text(encoding="utf-8")
    assert note in datasheet.split("## 1. Motivation", 1)[0]
    # A limit the corpus did not reach stopped nothing: no partial statement, the size category stays.
    _edit_summary(run, limit=read + 1)
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    card = _card(run / "README.md")
    assert card.data.size_categories == ["1K<n<10K"] and "Partial audit" not in card.text


def test_sampled_audit_is_stated_with_its_denominator(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    analysed = summary["documents_analysed"]
    skipped = sum(summary["documents_skipped"].values())
    # Pretend the corpus was ten times larger and only a 10% sample analysed.
    read = 10 * analysed + skipped
    _edit_summary(run, sample_rate=0.1, documents_read=read, documents_not_sampled=read - analysed - skipped)
    assert main(["datasheet", str(run)]) == 0
    datasheet = (run / "datasheet.md").read_text(encoding="utf-8")
    assert f"| documents not sampled (--sample-rate 0.1) | {read - analysed - skipped:,} |" in datasheet
    intro = datasheet.split("## 1. Motivation", 1)[0]
    assert "exact counts over the analysed documents" not in intro
    assert "10% sample of the documents read" in intro and "every percentage is estimated from that 10% sample" in intro
    assert "with a 95% interval" in intro
    assert "toxicity figures are estimated on a further sample" in intro  # toxicity ran: its own sampling kept
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    card = _card(run / "README.md")
    assert card.data.size_categories == [size_category(read)]  # the corpus, not the sample
    assert "Sampled audit: a 10% sample of the documents read was analysed" in card.text
    assert "estimated from a 10.0% sample of the documents (--sample-rate 0.1)" in card.text


def test_sampled_heading_only_when_toxicity_was_computed(run: Path) -> None:
    assert main(["datasheet", str(run)]) == 0
    assert "### Toxicity (Llama 2 Figure 13) — sampled" in (run / "datasheet.md").read_text(encoding="utf-8")
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    summary["stages"].pop("toxicity")
    summary["settings"]["stages"] = [s for s in summary["settings"]["stages"] if s != "toxicity"]
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    for table in ("toxicity_histogram", "toxicity_summary"):
        (run / "tables" / f"{table}.parquet").unlink(missing_ok=True)
    assert main(["datasheet", str(run)]) == 0
    text = (run / "datasheet.md").read_text(encoding="utf-8")
    assert "— sampled" not in text and "### Toxicity (Llama 2 Figure 13)" in text


@pytest.mark.parametrize("content, message", [
    ('name: "a\\n# heading"\n', "name must be one line of text"),
    ("name: .nan\n", "name must be one line of text (quote it), got float"),
    ('hub:\n  pretty_name: "x\\n---\\ninjected: true"\n', "hub.pretty_name must be one line of text"),
    ('hub:\n  license: "mit\\n---"\n', "hub.license must be one line of text"),
    ("hub:\n  license: .inf\n", "hub.license must be one line of text (quote it), got float"),
    ("hub:\n  tags: [web, 0x1F]\n", "hub.tags must be one line of text (quote it), got int"),
    (f"hub:\n  tags: [{'x' * 201}]\n", "hub.tags is longer than 200 characters"),
    ('hub:\n  citation: "@misc{x, title={```}}"\n', "hub.citation must not contain ```"),
])
def test_one_line_metadata_fields_are_checked(run: Path, tmp_path: Path, capsys, content: str, message: str) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text(content, encoding="utf-8")
    assert main(["datasheet", str(run), "--format", "hf-card", "--metadata", str(meta)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_free_text_answers_cannot_hide_or_swallow_what_follows(run: Path, tmp_path: Path) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text('motivation:\n  funding: "-->\\n<!-- "\n'
                    'composition:\n  instances: "```\\nunclosed fence"\n  sampling: "~~~\\nanother"\n'
                    f'maintenance:\n  maintainer: "{CARD_MARKER}"\n', encoding="utf-8")
    assert main(["datasheet", str(run), "--format", "hf-card", "--metadata", str(meta)]) == 0
    assert main(["datasheet", str(run), "--metadata", str(meta)]) == 0
    for text in ((run / "README.md").read_text(encoding="utf-8"), (run / "datasheet.md").read_text(encoding="utf-8")):
        body = text.replace(CARD_MARKER, "", 1)
        assert "<!--" not in body and "-->" not in body  # no comment opened or closed by an answer
        assert "&lt;!--" in body and "--&gt;" in body  # shown, escaped
        fences = [line for line in text.splitlines() if line.lstrip().startswith(("```", "~~~"))]
        assert len(fences) % 2 == 0 and "\n```\nunclosed fence" not in text
        assert "\\```\nunclosed fence" in text and "\\~~~\nanother" in text
    assert DatasetCard((run / "README.md").read_text(encoding="utf-8")).data.size_categories
    # The HTML datasheet escapes the answers itself (never double-escaped).
    html_text = (run / "datasheet.html").read_text(encoding="utf-8")
    assert "&amp;lt;" not in html_text and "&lt;!--" in html_text


def test_toxicity_scored_on_every_document_is_not_called_a_sample(run: Path) -> None:
    """Issue 29: "Only a deterministic ~100% sample" at --toxicity-sample-rate 1.0."""
    path = run / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary["stages"]["toxicity"]["sample_rate"] = 1.0
    path.write_text(json.dumps(summary), encoding="utf-8")
    assert main(["datasheet", str(run)]) == 0
    text = (run / "datasheet.md").read_text(encoding="utf-8")
    assert "These numbers are exact over the analysed documents.** Every analysed document was scored" in text
    assert "~100%" not in text and "sampled estimates" not in text.split("### Toxicity")[1]
