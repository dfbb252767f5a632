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
