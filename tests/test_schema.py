"""summary.json of real runs validates against the shipped JSON Schema (and bad ones do not)."""

from __future__ import annotations

import copy
import json

import pytest

from conftest import SENTENCES, read_summary, run_audit, write_jsonl
from corpus_audit.schemas import summary_schema

jsonschema = pytest.importorskip("jsonschema")


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("schema")
    records = [{"id": f"d{i}", "text": SENTENCES["en" if i % 2 else "fr"] + " She prays at the church."}
               for i in range(8)]
    write_jsonl(root / "a.jsonl", [*records, b"not json\n", b"\n"])
    assert run_audit(root / "a.jsonl", "--output", root / "out", "--checkpoint-dir", root / "ck",
                     "--stages", "langid,pronouns,descriptors,gender_gap") == 0
    return read_summary(root / "out")


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(summary_schema())


def test_real_summary_validates(summary: dict) -> None:
    jsonschema.Draft202012Validator(summary_schema()).validate(summary)
    assert summary["checkpoint_dir"] and summary["settings"]["stages"]


def test_every_top_level_field_is_described(summary: dict) -> None:
    """A field the summary gains must be added to the schema (scripts rely on its list)."""
    assert set(summary) <= set(summary_schema()["properties"])


@pytest.mark.parametrize("mutate", [
    lambda s: s.pop("documents_read"),
    lambda s: s.__setitem__("documents_analysed", -1),
    lambda s: s["documents_skipped"].__setitem__("malformed_json", "1"),
    lambda s: s.__setitem__("tables", ["../escape"]),
    lambda s: s["settings"].__setitem__("workers", 0),
])
def test_broken_summaries_fail(summary: dict, mutate) -> None:
    broken = copy.deepcopy(summary)
    mutate(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, summary_schema())


def test_schema_ships_as_package_data() -> None:
    """pyproject's package-data lists schemas/*.json (a wheel without it has no schema)."""
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    assert "schemas/*.json" in pyproject["tool"]["setuptools"]["package-data"]["corpus_audit"]
    assert json.dumps(summary_schema())
