"""``corpus-audit merge``: the audit of a corpus from audits of its parts, exact to the byte.

Invariant: for runs over disjoint parts with the same settings, every file in ``tables/`` of
their merge equals the file one run over all the parts writes, and ``summary.json`` of the
merge satisfies the schema and lists the runs. Runs that cannot be merged exactly (settings,
lexicons, an input read twice, a damaged or missing ``accumulators.json``) are refused in one
line naming what differs, and nothing is written.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import REPO_ROOT, SHARED_SHARDS
from corpus_audit.accumulators import ACCUMULATORS_FILE, decode_value, encode_value, payload_sha256, \
    read_accumulators, same_value
import corpus_audit.report
from corpus_audit.cli import main
from corpus_audit.errors import UsageError

_WRITE_PLOTS = corpus_audit.report.write_plots
SAMPLE = REPO_ROOT / "examples" / "sample_corpus"
#: Every CPU stage and toxicity, which has no model here: "not computed" in every run.
STAGES = "langid,pronouns,descriptors,gender_gap,toxicity"


def _run(output: Path, *inputs: Path | str, extra: tuple[str, ...] = (), code: int = 0) -> Path:
    assert main(["run", *map(str, inputs), "--output", str(output), "--quiet", "--stages", STAGES, *extra]) == code
    return output


def _merge(*runs: Path, output: Path, extra: tuple[str, ...] = ()) -> int:
    return main(["merge", *map(str, runs), "--output", str(output), "--quiet", *extra])


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("corpus-audit: error: ")
    return err[0]


def assert_same_tables(merged: Path, single: Path) -> None:
    """Every file in ``tables/`` byte-identical, and the same files."""
    names = sorted(p.name for p in (single / "tables").iterdir())
    assert names and names == sorted(p.name for p in (merged / "tables").iterdir())
    _, mismatch, errors = filecmp.cmpfiles(single / "tables", merged / "tables", names, shallow=False)
    assert not mismatch and not errors, mismatch + errors


@pytest.fixture(scope="module", autouse=True)
def no_plots():
    """Runs here skip drawing plots (most of a small run's time); one test draws them for a merge."""
    import corpus_audit.report as report

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report, "write_plots", lambda *args, **kwargs: [])
        yield report


@pytest.fixture(scope="module")
def sample(tmp_path_factory, no_plots) -> dict[str, Path]:
    """The sample corpus audited whole and in two parts (2 files + 1), grouped by source."""
    base = tmp_path_factory.mktemp("merge-sample")
    group = ("--group-by", "source")
    files = sorted(p for p in SAMPLE.iterdir() if p.name != "README.md")
    assert len(files) == 3
    return {"full": _run(base / "full", *files, extra=group),
            "a": _run(base / "a", *files[:2], extra=group),
            "b": _run(base / "b", files[2], extra=group),
            "files": files, "base": base}


def test_sample_two_plus_one_equals_one_run(sample, tmp_path: Path, monkeypatch) -> None:
    import corpus_audit.report as report

    monkeypatch.setattr(report, "write_plots", _WRITE_PLOTS)  # the merge's report as a run's: plots too
    out = tmp_path / "merged"
    assert _merge(sample["a"], sample["b"], output=out) == 0
    assert list((out / "plots").glob("*.png"))
    assert_same_tables(out, sample["full"])
    summary = json.loads((out / "summary.json").read_text())
    full = json.loads((sample["full"] / "summary.json").read_text())
    jsonschema = pytest.importorskip("jsonschema")
    from corpus_audit.schemas import summary_schema

    jsonschema.Draft202012Validator(summary_schema()).validate(summary)
    assert summary["settings"]["runner"] == "merge"
    assert summary["settings"]["merged_runs"] == [str(sample["a"]), str(sample["b"])]
    for key in ("documents_read", "documents_analysed", "documents_skipped", "bytes_read", "tables"):
        assert summary[key] == full[key]
    assert summary["input_files"] == 3
    # toxicity was "not computed" in both runs: so it is in the merge, with the runs' reason.
    assert summary["stages"]["toxicity"]["status"] == "not_computed"
    assert summary["stages"]["toxicity"]["reason"] == full["stages"]["toxicity"]["reason"]
    # The merge keeps the union's accumulators: exactly those of the single run.
    merged, single = read_accumulators(str(out)), read_accumulators(str(sample["full"]))
    assert list(merged.stages) == list(single.stages) == STAGES.split(",")
    assert all(same_value(merged.stages[name], single.stages[name]) for name in single.stages)
    assert merged.accounting == single.accounting
    assert sorted(i["path"] for i in merged.inputs) == sorted(i["path"] for i in single.inputs)
    manifest = json.loads((out / "corpus-audit-run.json").read_text())
    assert manifest["status"] == "complete" and ACCUMULATORS_FILE in manifest["files"]
    assert (out / "datasheet.md").is_file()
    assert main(["compare", str(sample["full"]), str(out)]) == 0
    assert main(["report", str(out)]) == 0


def test_merge_of_merges_and_overwrite(sample, tmp_path: Path, capsys) -> None:
    """A merge is itself mergeable; OUT is never replaced without --overwrite."""
    one = tmp_path / "one"
    assert _merge(sample["a"], output=one) == 0
    again = tmp_path / "again"
    assert _merge(one, sample["b"], output=again) == 0
    assert_same_tables(again, sample["full"])
    capsys.readouterr()
    assert _merge(one, sample["b"], output=again) == 2
    assert "--overwrite" in _error_line(capsys)
    assert _merge(one, sample["b"], output=again, extra=("--overwrite",)) == 0
    assert_same_tables(again, sample["full"])


def test_run_owns_accumulators_json(sample) -> None:
    from corpus_audit.rundir.run_directory import _OWN_NAME

    manifest = json.loads((sample["a"] / "corpus-audit-run.json").read_text())
    assert ACCUMULATORS_FILE in manifest["files"]
    assert _OWN_NAME.match(ACCUMULATORS_FILE) and _OWN_NAME.match(f"{ACCUMULATORS_FILE}.0123456789abcdef.tmp")
    recorded = read_accumulators(str(sample["a"]))
    assert recorded.stage_options["langid"]["langid_threshold"] == 0.5
    assert recorded.settings["read"]["group_by"] == "source"
    assert [i["path"] for i in recorded.inputs] == [str(p) for p in sample["files"][:2]]
    assert all(len(i["content_sha256"]) == 64 and i["size"] > 0 for i in recorded.inputs)


# ----------------------------------------------------------------------------- refusals


def _refused(capsys, *runs: Path, output: Path) -> str:
    capsys.readouterr()
    assert _merge(*runs, output=output) == 2
    line = _error_line(capsys)
    assert not output.exists(), "a refused merge writes nothing"
    return line


def test_refuses_different_option(sample, tmp_path: Path, capsys) -> None:
    other = _run(tmp_path / "t", sample["files"][2], extra=("--group-by", "source", "--langid-threshold", "0.6"))
    line = _refused(capsys, sample["a"], other, output=tmp_path / "out")
    assert "--langid-threshold" in line and str(sample["a"]) in line and str(other) in line


def test_refuses_different_read_setting(sample, tmp_path: Path, capsys) -> None:
    other = _run(tmp_path / "g", sample["files"][2])  # no --group-by
    line = _refused(capsys, sample["a"], other, output=tmp_path / "out")
    assert "group_by" in line and str(other) in line


def _pronoun_lexicon(path: Path, version: str) -> Path:
    lexicon = json.loads((REPO_ROOT / "corpus_audit" / "lexicons" / "pronouns_en.json").read_text())
    lexicon["_about"]["version"] = version
    path.write_text(json.dumps(lexicon))
    return path


def test_refuses_different_or_changed_lexicon(sample, tmp_path: Path, capsys) -> None:
    lexicon = _pronoun_lexicon(tmp_path / "pronouns.json", "custom-1")
    first = _run(tmp_path / "l1", sample["files"][2], extra=("--pronoun-lexicon", str(lexicon)))
    second = _run(tmp_path / "l2", sample["files"][1], extra=("--pronoun-lexicon", str(lexicon)))
    plain = _run(tmp_path / "plain", sample["files"][1])
    line = _refused(capsys, first, plain, output=tmp_path / "out")
    assert "pronouns setting.lexicon" in line  # its version or SHA-256
    # The same lexicon under another path is the same lexicon: compared by its digest, not its path.
    moved = _run(tmp_path / "moved", sample["files"][1],
                 extra=("--pronoun-lexicon", str(shutil.copy(lexicon, tmp_path / "elsewhere.json"))))
    assert _merge(first, moved, output=tmp_path / "merged") == 0
    # Same options, but the lexicon file changed since: the digests the runs recorded no longer match.
    _pronoun_lexicon(lexicon, "custom-2")
    line = _refused(capsys, first, second, output=tmp_path / "out")
    assert "pronouns" in line and "changed" in line


def test_refuses_an_input_read_twice(sample, tmp_path: Path, capsys) -> None:
    line = _refused(capsys, sample["a"], sample["a"], output=tmp_path / "out")
    assert "both read" in line and str(sample["files"][0]) in line
    copy = tmp_path / "copy" / sample["files"][2].name  # the same content under another path
    copy.parent.mkdir()
    shutil.copyfile(sample["files"][2], copy)
    other = _run(tmp_path / "c", copy, extra=("--group-by", "source"))
    line = _refused(capsys, sample["b"], other, output=tmp_path / "out")
    assert "same content" in line and str(copy) in line


def _copy_run(run: Path, target: Path) -> Path:
    shutil.copytree(run, target)
    return target


def test_refuses_a_tampered_file(sample, tmp_path: Path, capsys) -> None:
    run = _copy_run(sample["b"], tmp_path / "b")
    path = run / ACCUMULATORS_FILE
    payload = json.loads(path.read_text())
    payload["accounting"]["documents_read"] += 1
    path.write_text(json.dumps(payload))
    line = _refused(capsys, sample["a"], run, output=tmp_path / "out")
    assert "sha256" in line and str(path) in line


def test_refuses_a_run_without_accumulators(sample, tmp_path: Path, capsys) -> None:
    run = _copy_run(sample["b"], tmp_path / "b")
    (run / ACCUMULATORS_FILE).unlink()
    line = _refused(capsys, sample["a"], run, output=tmp_path / "out")
    assert str(run / ACCUMULATORS_FILE) in line and "not found" in line
    assert "not a directory" in _refused(capsys, sample["a"], tmp_path / "nothing", output=tmp_path / "out")


def test_refuses_an_output_overlapping_a_run(sample, tmp_path: Path, capsys) -> None:
    assert "overlaps" in _refused(capsys, sample["a"], sample["b"], output=sample["a"] / "inner")
    capsys.readouterr()
    assert _merge(sample["a"], sample["b"], output=sample["base"], extra=("--overwrite",)) == 2
    assert "overlaps" in _error_line(capsys)


def _resigned(run: Path, mutate) -> None:
    """Rewrite ``run``'s accumulators.json with ``mutate`` applied and a valid sha256 (a hostile file)."""
    path = run / ACCUMULATORS_FILE
    payload = json.loads(path.read_text())
    payload.pop("sha256")
    mutate(payload)
    payload["sha256"] = payload_sha256(payload)
    path.write_text(json.dumps(payload))


def _set_first_count(payload: dict, value: int) -> None:
    """The first count of the first langid row (``{(group, language): (documents, characters)}``)."""
    payload["stages"]["langid"]["d"][0][1]["t"][0] = value


@pytest.mark.parametrize("mutate", [
    lambda p: _set_first_count(p, -3),
    lambda p: _set_first_count(p, 2 ** 70),
    lambda p: p["stages"]["langid"]["d"][0][1]["t"].append(1),
    lambda p: p["stages"]["langid"]["d"][0][1].update(t=["many", 2]),
    lambda p: p["stages"]["pronouns"].update(d=[[{"t": [None, "en"]}, {"t": [1]}]]),
    lambda p: p["stages"]["gender_gap"].update(d=[[7, {"t": [1, 2]}]]),
    lambda p: p["stages"]["descriptors"].update(d=[]),
], ids=["negative", "over-int64", "longer-row", "string-count", "short-row", "bad-key", "parts-missing"])
def test_a_signed_file_with_wrong_counts_never_crashes(sample, tmp_path: Path, capsys, mutate) -> None:
    """Counts of the wrong shape or range: merged (a count is a count) or refused in one line
    before OUT is touched, never an internal error."""
    run = _copy_run(sample["b"], tmp_path / "b")
    _resigned(run, mutate)
    capsys.readouterr()
    code = _merge(sample["a"], run, output=tmp_path / "out")
    err = capsys.readouterr().err
    assert code in (0, 2), err
    if code == 2:
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("mutate", [
    lambda p: p["stages"].update(langid={"f": "0x1.0p+0"}),
    lambda p: p["stages"].update(langid=[1, 2, 3]),
    lambda p: p["stages"].pop("langid"),
    lambda p: p["stage_options"].update(langid={"d": [["langid_threshold", "high"]]}),
    lambda p: p["stage_options"].update(langid={"d": [["langid_threshold", {"f": "0x1.8p+0"}]]}),
    lambda p: p["accounting"].update(documents_read=-5),
    lambda p: p["accounting"].update(nonsense=1),
    lambda p: p.update(inputs="all of them"),
    lambda p: p.update(version=2),
], ids=["float-accumulator", "list-accumulator", "stage-missing", "option-type", "option-range", "negative-count",
        "unknown-count", "inputs-type", "version"])
def test_a_hostile_but_signed_file_is_one_line(sample, tmp_path: Path, capsys, mutate) -> None:
    run = _copy_run(sample["b"], tmp_path / "b")
    _resigned(run, mutate)
    _refused(capsys, sample["a"], run, output=tmp_path / "out")


def test_refuses_toxicity_computed_in_one_run_only(sample, tmp_path: Path, capsys) -> None:
    run = _copy_run(sample["b"], tmp_path / "b")
    _resigned(run, lambda p: p["settings"]["stages"]["toxicity"].update(status="computed", reason=None))
    line = _refused(capsys, sample["a"], run, output=tmp_path / "out")
    assert "toxicity setting.status" in line


def test_computed_toxicity_is_restored_without_a_model() -> None:
    """A merge loads no model: a computed toxicity stage takes its model identity from the runs."""
    from corpus_audit.cli.merge import _restore_run_state
    from corpus_audit.transforms.toxicity import Toxicity

    stage = Toxicity.from_options(Toxicity.Options())
    recorded = {**stage.settings(), "status": "computed", "reason": None, "weights_sha256": "ab" * 32,
                "label": "toxic", "documents_scored": 7}
    _restore_run_state(stage, recorded)
    assert stage.available and stage.settings()["weights_sha256"] == "ab" * 32
    assert "documents_scored" not in stage.model_info
    stage = Toxicity.from_options(Toxicity.Options())
    _restore_run_state(stage, {"status": "not_computed", "reason": "no model here"})
    assert not stage.available and stage.settings()["reason"] == "no model here"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(0, 1, exclude_max=True), byte=st.integers(0, 255))
def test_any_byte_changed_is_refused_or_harmless(sample, position: float, byte: int) -> None:
    """A file with any one byte changed either loads exactly as written (JSON whitespace) or is
    refused with a `UsageError` — never another exception, never different accumulators."""
    original = (sample["b"] / ACCUMULATORS_FILE).read_bytes()
    index = int(position * len(original))
    damaged = original[:index] + bytes([byte]) + original[index + 1:]
    target = sample["base"] / "damaged"
    target.mkdir(exist_ok=True)
    (target / ACCUMULATORS_FILE).write_bytes(damaged)
    expected = read_accumulators(str(sample["b"]))
    try:
        loaded = read_accumulators(str(target))
    except UsageError as exc:
        assert str(target / ACCUMULATORS_FILE) in str(exc) and "\n" not in str(exc)
        return
    assert loaded.stage_options == expected.stage_options and loaded.accounting == expected.accounting
    assert all(same_value(loaded.stages[name], expected.stages[name]) for name in expected.stages)


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.floats(allow_nan=False),
                    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                    | st.dictionaries(st.integers() | st.text(max_size=3) | st.tuples(st.text(max_size=2)),
                                      inner, max_size=3)
                    | st.sets(st.integers(), max_size=3), max_leaves=12))
def test_codec_round_trips_exactly(value) -> None:
    """The codec shared by checkpoints and accumulators.json: decode(encode(v)) is v, types included."""
    encoded = json.loads(json.dumps(encode_value(value)))
    assert same_value(decode_value(encoded), value)


# ----------------------------------------------------------------------------- the shared shards


@pytest.mark.skipif(len(sorted(SHARED_SHARDS.glob("*.jsonl.gz"))) != 4,
                    reason=f"the 4 shared shards are not at {SHARED_SHARDS}")
def test_shared_shards_four_ways_equal_one_run(tmp_path: Path) -> None:
    """Each shard audited alone, the four runs merged: tables/ byte-identical to one run over all."""
    shards = sorted(SHARED_SHARDS.glob("*.jsonl.gz"))
    stages = ("--stages", "langid,pronouns,descriptors,gender_gap")
    parts = []
    for index, shard in enumerate(shards):
        parts.append(tmp_path / f"part{index}")
        assert main(["run", str(shard), "--output", str(parts[-1]), "--quiet", *stages]) == 0
    single = tmp_path / "single"
    assert main(["run", *map(str, shards), "--output", str(single), "--quiet", *stages]) == 0
    merged = tmp_path / "merged"
    assert _merge(*reversed(parts), output=merged) == 0  # any order: the merge is exact
    assert_same_tables(merged, single)
    summary = json.loads((merged / "summary.json").read_text())
    assert len(summary["settings"]["merged_runs"]) == 4
    assert summary["documents_read"] == json.loads((single / "summary.json").read_text())["documents_read"]


def test_messy_parts_merge_like_one_run(tmp_path: Path) -> None:
    """Skips of every kind, blank lines, empty ids, a --group-by field some records lack and
    documents over --max-document-bytes: the merged accounting and tables equal one run's."""
    from conftest import SENTENCES, write_jsonl

    texts = list(SENTENCES.values())
    (tmp_path / "in").mkdir()
    first = write_jsonl(tmp_path / "in" / "one.jsonl", [
        *({"id": f"a{i}", "text": f"{texts[i % len(texts)]} She said he was there.", "src": "web"} for i in range(9)),
        {"id": "", "text": "An id that is empty: they gave it one.", "src": "forum"},
        {"id": "no-text", "src": "web"}, b"{not json\n", b"\n", b"[1, 2]\n",
        {"id": "big", "text": "word " * 200, "src": "web"}])
    second = write_jsonl(tmp_path / "in" / "two.jsonl.gz", [
        *({"id": f"b{i}", "text": texts[(i * 3) % len(texts)]} for i in range(7)),  # no "src": group missing
        {"id": "n", "text": 5}, {"id": "e", "text": "", "src": "web"}], compress="gz")
    third = write_jsonl(tmp_path / "in" / "three.jsonl", [])  # an empty file: skipped as such
    options = ("--group-by", "src", "--max-document-bytes", "400")
    single = _run(tmp_path / "single", first, second, third, extra=options)
    # The empty file's run analysed nothing (exit 1): it is still a complete run, and merges.
    parts = [_run(tmp_path / f"p{i}", path, extra=options, code=int(path == third))
             for i, path in enumerate((first, second, third))]
    merged = tmp_path / "merged"
    assert _merge(*parts, output=merged) == 0
    assert_same_tables(merged, single)
    a, b = (json.loads((d / "summary.json").read_text()) for d in (merged, single))
    counts = ("documents_read", "documents_analysed", "documents_skipped", "documents_not_sampled", "bytes_read",
              "blank_lines_ignored", "empty_ids_replaced", "group_by_field_missing", "accounting_balanced")
    assert {k: a[k] for k in counts} == {k: b[k] for k in counts}
    assert len(b["documents_skipped"]) >= 4


def test_beam_engine_keeps_the_same_accumulators(sample, tmp_path: Path) -> None:
    """Both engines end in the same writer: a DirectRunner run's accumulators.json is the local
    engine's, byte for byte, so runs of either engine merge."""
    beam = _run(tmp_path / "beam", sample["files"][2], extra=("--group-by", "source", "--runner", "DirectRunner"))
    assert (beam / ACCUMULATORS_FILE).read_bytes() == (sample["b"] / ACCUMULATORS_FILE).read_bytes()
