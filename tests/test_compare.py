"""``corpus-audit compare A B`` answers "did my filter change anything?" (issue 15, Go beyond).

Two small runs are written by hand (tables through the pipeline's own writer, summary.json
by hand), so every difference, count, denominator and p-value below is counted by hand.
P-values are checked against the chi-square test of the 2×2 table (an independent route to
the pooled z-test), intervals against Newcombe's hybrid score interval built from Wilson bounds
found by bisection from their definition, and `two_proportion_test` against the values
published in Newcombe (1998), Table II.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import SENTENCES, run_audit, write_jsonl
from corpus_audit.cli import main
from corpus_audit.rundir.tables import write_table
from corpus_audit.stats import two_proportion_test

# ----------------------------------------------------------------------------- independent references


def _chi_square_p(x_a: int, n_a: int, x_b: int, n_b: int) -> float:
    """Two-sided p of the 2×2 chi-square test (no continuity correction): N(ad − bc)² / (r1 r2 c1 c2)."""
    a, b, c, d = x_a, n_a - x_a, x_b, n_b - x_b
    n = n_a + n_b
    chi2 = n * (a * d - b * c) ** 2 / (n_a * n_b * (a + c) * (b + d))
    return math.erfc(math.sqrt(chi2 / 2))


def _wilson_bound(x: int, n: int, upper: bool, z: float = 1.959963984540054) -> float:
    """The Wilson bound from its definition: the p where |p̂ − p| = z·sqrt(p(1 − p)/n), by bisection."""
    share = x / n
    low, high = (share, 1.0) if upper else (0.0, share)
    for _ in range(200):
        middle = (low + high) / 2
        outside = abs(share - middle) > z * math.sqrt(middle * (1 - middle) / n)
        if outside == upper:
            high = middle
        else:
            low = middle
    return (low + high) / 2


def _newcombe_pp(x_a: int, n_a: int, x_b: int, n_b: int) -> tuple[float, float]:
    """Newcombe's method 10 for p_b − p_a, in percentage points."""
    p_a, p_b = x_a / n_a, x_b / n_b
    l_a, u_a = _wilson_bound(x_a, n_a, False), _wilson_bound(x_a, n_a, True)
    l_b, u_b = _wilson_bound(x_b, n_b, False), _wilson_bound(x_b, n_b, True)
    d = p_b - p_a
    return (100 * (d - math.sqrt((p_b - l_b) ** 2 + (u_a - p_a) ** 2)),
            100 * (d + math.sqrt((u_b - p_b) ** 2 + (p_a - l_a) ** 2)))


# ----------------------------------------------------------------------------- stats


@pytest.mark.parametrize(("a", "b", "low", "high"), [
    # Newcombe (1998), Table II, method 10; his θ = p1 − p2 is our B − A with B = his first sample.
    ((48, 80), (56, 70), 0.0524, 0.3339),   # (a)
    ((3, 10), (9, 10), 0.1705, 0.8090),     # (b)
    ((0, 29), (5, 56), -0.0381, 0.1926),    # (d)
    ((0, 20), (0, 10), -0.1611, 0.2775),    # (e)
    ((0, 10), (0, 10), -0.2775, 0.2775),    # (f)
    ((0, 20), (10, 10), 0.6791, 1.0000),    # (g)
])
def test_two_proportion_interval_matches_newcombe_table_ii(a, b, low, high) -> None:
    result = two_proportion_test(a[0], a[1], b[0], b[1])
    assert result is not None
    assert result.difference == pytest.approx(b[0] / b[1] - a[0] / a[1])
    assert round(result.ci_low, 4) == low and round(result.ci_high, 4) == high


def test_two_proportion_p_value_by_hand() -> None:
    # 40/100 vs 60/100: pooled 0.5, se = sqrt(0.25 · 0.02) = sqrt(0.005), z = 0.2 / sqrt(0.005) = 2·sqrt(2),
    # two-sided p = erfc(z / sqrt(2)) = erfc(2) = 0.004677734981047266.
    result = two_proportion_test(40, 100, 60, 100)
    assert result is not None and result.p_value == pytest.approx(0.004677734981047266, rel=1e-12)
    # 56/70 vs 48/80 (Newcombe's (a)): chi-square 7.0233..., p = 0.00804508...
    assert two_proportion_test(48, 80, 56, 70).p_value == pytest.approx(_chi_square_p(48, 80, 56, 70), rel=1e-12)
    assert two_proportion_test(48, 80, 56, 70).p_value == pytest.approx(0.0080451, abs=1e-7)
    # No difference, and nothing to vary: p = 1; no trials: no test.
    assert two_proportion_test(0, 10, 0, 30).p_value == 1.0
    assert two_proportion_test(7, 7, 3, 3).p_value == 1.0
    assert two_proportion_test(5, 10, 5, 10).p_value == pytest.approx(1.0)
    assert two_proportion_test(0, 0, 1, 2) is None and two_proportion_test(1, 2, 0, 0) is None
    with pytest.raises(ValueError):
        two_proportion_test(3, 2, 1, 2)


# ----------------------------------------------------------------------------- hand-built runs


def _write(run: Path, name: str, rows: list[dict], stage: str) -> None:
    write_table(str(run), name, pa.Table.from_pylist(rows), stage, [])


def _run(path: Path, *, languages: dict[str, int], she_he: tuple[int, int, int], axis: tuple[int, int],
         trans_women: tuple[int, int], threshold: float, toxicity: tuple[int, int] | None,
         skipped: dict[str, int]) -> Path:
    """A run of ``sum(languages)`` analysed documents; ``she_he`` = (she, he, gendered) over ``en``
    documents; ``axis`` = (gender_and_sex documents, English documents); ``trans_women`` = their
    descriptor counts; ``toxicity`` = (toxic, scored) or None for "model not available"."""
    analysed = sum(languages.values())
    _write(path, "languages", [{"language": code, "documents": n, "percent": round(100 * n / analysed, 4),
                                "characters": 100 * n} for code, n in languages.items()], "languages")
    she, he, gendered = she_he
    english = languages["en"]
    _write(path, "pronouns", [
        {"group": "gendered", "documents": gendered, "denominator": english,
         "percent": round(100 * gendered / english, 4)},
        {"group": "she", "documents": she, "denominator": gendered, "percent": round(100 * she / gendered, 4)},
        {"group": "he", "documents": he, "denominator": gendered, "percent": round(100 * he / gendered, 4)},
    ], "pronouns")
    axis_documents, denominator = axis
    _write(path, "descriptor_axes", [{"axis": "gender_and_sex", "documents": axis_documents,
                                      "percent": round(100 * axis_documents / denominator, 4),
                                      "denominator": denominator}], "descriptors")
    trans, women = trans_women
    _write(path, "descriptors", [
        {"axis": "gender_and_sex", "descriptor": "trans", "documents": trans,
         "percent": round(100 * trans / axis_documents, 4), "rank": 1},
        {"axis": "gender_and_sex", "descriptor": "women", "documents": women,
         "percent": round(100 * women / axis_documents, 4), "rank": 2},
    ], "descriptors")
    stages: dict = {
        "langid": {"model_file": "lid.176.ftz", "model_sha256": "8f34", "threshold": threshold},
        "pronouns": {"lexicon": "llama2-pronouns", "lexicon_sha256": "0bd0"},
        "descriptors": {"lexicon": "holistic-bias", "lexicon_version": "v1.1", "lexicon_sha256": "deda"},
    }
    if toxicity is None:
        stages["toxicity"] = {"status": "not_computed", "reason": "model not available",
                              "model": "tomh/toxigen_hatebert"}
        # As a real run without its model: the tables exist, with nothing scored.
        _write(path, "toxicity_histogram", [{"bin_lower": 0.0, "bin_upper": 0.5, "documents": 0, "fraction": 0.0},
                                            {"bin_lower": 0.5, "bin_upper": 1.0, "documents": 0, "fraction": 0.0}],
               "toxicity")
    else:
        toxic, scored = toxicity
        stages["toxicity"] = {"status": "computed", "model": "tomh/toxigen_hatebert"}
        _write(path, "toxicity_summary", [{"scope": "all", "group": None, "documents": scored, "lines": 2 * scored,
                                           "toxic_documents": toxic, "percent": round(100 * toxic / scored, 4),
                                           "mean": 0.1}], "toxicity")
        _write(path, "toxicity_histogram", [
            {"bin_lower": 0.0, "bin_upper": 0.5, "documents": scored - toxic, "fraction": round(1 - toxic / scored, 6)},
            {"bin_lower": 0.5, "bin_upper": 1.0, "documents": toxic, "fraction": round(toxic / scored, 6)}],
            "toxicity")
    summary = {"documents_read": analysed + sum(skipped.values()), "documents_analysed": analysed,
               "documents_skipped": skipped, "bytes_read": 1000 * analysed, "input_files": 1,
               "inputs": [path.name + ".jsonl"], "stages": stages,
               "settings": {"stages": list(stages), "group_by": None},
               "timings": {"wall_seconds": float(analysed)}}
    (path / "summary.json").write_text(json.dumps(summary))
    return path


@pytest.fixture()
def before_after(tmp_path: Path) -> tuple[Path, Path]:
    before = _run(tmp_path / "before", languages={"en": 80, "fr": 20}, she_he=(30, 40, 60), axis=(10, 80),
                  trans_women=(4, 6), threshold=0.5, toxicity=None, skipped={"empty_text": 1})
    after = _run(tmp_path / "after", languages={"en": 60, "fr": 30, "de": 10}, she_he=(30, 20, 60), axis=(10, 60),
                 trans_women=(6, 4), threshold=0.6, toxicity=(2, 20), skipped={"malformed_json": 2})
    return before, after


def _csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as handle:  # keep a \r inside a quoted cell
        reader = csv.DictReader(io.StringIO(handle.read()))
    return list(reader.fieldnames or []), list(reader)


def _find(rows: list[dict[str, str]], table: str, metric: str, **keys: str) -> dict[str, str]:
    found = [r for r in rows if r["table"] == table and r["metric"] == metric
             and all(r.get(k) == v for k, v in keys.items())]
    assert len(found) == 1, (table, metric, keys, found)
    return found[0]


def test_csv_is_wide_with_separate_key_columns_and_hand_computed_tests(before_after, tmp_path) -> None:
    before, after = before_after
    out = tmp_path / "diff.csv"
    assert main(["compare", str(before), str(after), "--output", str(out)]) == 0
    header, rows = _csv_rows(out)
    for column in ("table", "language", "group", "axis", "descriptor", "metric", "a", "b", "difference", "unit",
                   "a_count", "a_base", "b_count", "b_base", "ci_low", "ci_high", "p_value", "significant"):
        assert column in header
    assert "key" not in header and not any(" / " in value for r in rows for value in r.values())

    trans = _find(rows, "descriptors", "percent", axis="gender_and_sex", descriptor="trans")
    # 4 of the axis' 10 documents → 6 of 10.
    assert (trans["a"], trans["b"], trans["difference"], trans["unit"]) == ("40.0", "60.0", "20.0", "pp")
    assert (trans["a_count"], trans["a_base"], trans["b_count"], trans["b_base"]) == ("4", "10", "6", "10")
    assert float(trans["p_value"]) == pytest.approx(_chi_square_p(4, 10, 6, 10), rel=1e-9)
    assert trans["significant"] == "false"

    en = _find(rows, "languages", "percent", language="en")
    # 80 of 100 analysed → 60 of 100: chi-square 200·2000²/(100·100·140·60) = 9.5238,
    # p = erfc(sqrt(9.5238 / 2)) = erfc(2.18218) = 0.002028.
    assert (en["a"], en["b"], en["difference"]) == ("80.0", "60.0", "-20.0")
    assert (en["a_count"], en["a_base"], en["b_count"], en["b_base"]) == ("80", "100", "60", "100")
    assert float(en["p_value"]) == pytest.approx(_chi_square_p(80, 100, 60, 100), rel=1e-9)
    assert float(en["p_value"]) == pytest.approx(0.002028, abs=1e-6)
    low, high = _newcombe_pp(80, 100, 60, 100)
    assert float(en["ci_low"]) == pytest.approx(low, abs=1e-6) and float(en["ci_high"]) == pytest.approx(high, abs=1e-6)
    assert float(en["ci_high"]) < 0 and en["significant"] == "true"

    fr = _find(rows, "languages", "percent", language="fr")
    # 20/100 → 30/100: chi-square 200·1000²/(100·100·50·150) = 2.6667, p = 0.1025: noise.
    assert float(fr["p_value"]) == pytest.approx(0.10247, abs=1e-5) and fr["significant"] == "false"
    assert float(fr["ci_low"]) < 0 < float(fr["ci_high"])

    he = _find(rows, "pronouns", "percent", group="he")  # 40 of 60 gendered → 20 of 60
    assert (he["a_count"], he["a_base"], he["b_count"], he["b_base"]) == ("40", "60", "20", "60")
    assert float(he["p_value"]) == pytest.approx(_chi_square_p(40, 60, 20, 60), rel=1e-9)
    axis = _find(rows, "descriptor_axes", "percent", axis="gender_and_sex")  # 10 of 80 English → 10 of 60
    assert (axis["a"], axis["b"], axis["difference"]) == ("12.5", "16.6667", "4.1667")
    assert (axis["a_base"], axis["b_base"]) == ("80", "60")

    de = _find(rows, "languages", "documents", language="de")  # only in B: 0 of A's 100 documents
    assert (de["a"], de["b"], de["difference"]) == ("0", "10", "10")
    de_percent = _find(rows, "languages", "percent", language="de")
    assert (de_percent["a"], de_percent["b"], de_percent["difference"]) == ("0.0", "10.0", "10.0")
    assert (de_percent["a_count"], de_percent["a_base"], de_percent["b_count"], de_percent["b_base"]) == \
        ("0", "100", "10", "100")
    assert float(de_percent["p_value"]) == pytest.approx(_chi_square_p(0, 100, 10, 100), rel=1e-9)
    low, high = _newcombe_pp(0, 100, 10, 100)
    assert float(de_percent["ci_low"]) == pytest.approx(low, abs=1e-6)
    assert float(de_percent["ci_high"]) == pytest.approx(high, abs=1e-6)
    assert _find(rows, "summary", "documents_read")["difference"] == "1"  # 101 → 102 (hand: 100+1, 100+2)
    assert _find(rows, "documents_skipped", "documents", reason="malformed_json")["difference"] == "2"

    # Unchanged rows are left out by default; --all lists them, and the timings.
    assert not [r for r in rows if r["table"] == "pronouns" and r["group"] == "she"]  # 30 of 60 in both
    gendered = _find(rows, "pronouns", "percent", group="gendered")  # 60 of 80 English → 60 of 60
    assert (gendered["a"], gendered["b"], gendered["a_base"], gendered["b_base"]) == ("75.0", "100.0", "80", "60")
    assert not [r for r in rows if r["table"] == "timings"]
    out_all = tmp_path / "all.csv"
    assert main(["compare", str(before), str(after), "--all", "--output", str(out_all)]) == 0
    _, every = _csv_rows(out_all)
    she = _find(every, "pronouns", "percent", group="she")  # 30/60 both: p = 1, not significant
    assert (she["difference"], she["p_value"], she["significant"]) == ("0.0", "1.0", "false")
    assert _find(every, "timings", "wall_seconds")["difference"] == "0.0"
    assert len(every) > len(rows)


def test_stage_status_and_what_differs(before_after, tmp_path) -> None:
    before, after = before_after
    out = tmp_path / "diff.csv"
    assert main(["compare", str(before), str(after), "-o", str(out)]) == 0
    _, rows = _csv_rows(out)
    toxicity = _find(rows, "stages", "status", stage="toxicity")
    assert (toxicity["a"], toxicity["b"]) == ("not computed (model not available)", "computed")
    gender_gap = _find(rows, "stages", "status", stage="gender_gap")
    assert (gender_gap["a"], gender_gap["b"]) == ("not run", "not run")
    assert _find(rows, "stages", "status", stage="langid")["a"] == "computed"
    assert not any(r["a"] == "ran" or r["b"] == "ran" for r in rows)
    # Toxicity was not computed in A: its zero-filled histogram is not compared (no "0 → 18 documents").
    assert not [r for r in rows if r["table"].startswith("toxicity")]
    threshold = _find(rows, "settings", "threshold", stage="langid")
    assert (threshold["a"], threshold["b"]) == ("0.5", "0.6")
    assert _find(rows, "inputs", "inputs")["b"] == '["after.jsonl"]'
    assert not [r for r in rows if r["table"] == "settings" and r["metric"] in ("status", "reason")]


def test_markdown_one_section_per_table_rounded_and_ordered(before_after, capsys) -> None:
    before, after = before_after
    assert main(["compare", str(before), str(after)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# Comparison: before (A) vs after (B)\n")
    assert "| language | metric | A | B | B − A | 95% CI of B − A | p | q | significant |" in text
    assert "| axis | descriptor | metric | A | B | B − A | 95% CI of B − A | p | q | significant |" in text
    # The interval is _newcombe_pp(80, 100, 60, 100); p (3 significant digits) as in the CSV test; q its
    # Benjamini–Hochberg adjustment.
    line = next(line for line in text.splitlines() if line.startswith("| en | percent | 80.00 | 60.00 |"))
    assert line.startswith("| en | percent | 80.00 | 60.00 | -20.00 pp | [-31.85, -7.31] | 0.00203 | ") \
        and line.endswith(" | yes |"), line
    assert "## Significant changes" in text.split("## Stages")[0]  # the headline comes first
    assert "| settings | langid | threshold | 0.5 | 0.6 |" in text  # settings as recorded
    assert "| fr | percent | 20.00 | 30.00 | +10.00 pp | " in text
    assert "| gender_and_sex | trans | percent | 40.00 | 60.00 | +20.00 pp |" in text
    assert "| toxicity | not computed (model not available) | computed |" in text
    assert "| gender_gap | not run | not run |" in text
    assert "| ran |" not in text and "`toxicity_summary` (toxicity not computed in A)" in text
    # Percentages first, then counts; each by |B − A|: en (20 pp) before fr (10 pp) before de (absent).
    languages = text.split("## languages")[1].split("## ")[0]
    order = [line.split(" | ")[0].lstrip("| ") + ":" + line.split(" | ")[1] for line in languages.splitlines()
             if line.startswith("| ") and not line.startswith("| language")]
    assert order[:3] == ["en:percent", "fr:percent", "de:percent"]
    assert order[3:6] == ["en:documents", "fr:documents", "de:documents"]
    assert "she | percent" not in text  # unchanged: left out by default
    assert main(["compare", str(before), str(after)]) == 0
    assert capsys.readouterr().out == text  # deterministic


def test_both_computed_toxicity_uses_the_scored_documents(tmp_path) -> None:
    common = dict(languages={"en": 80, "fr": 20}, she_he=(30, 40, 60), axis=(10, 80), trans_women=(4, 6),
                  threshold=0.5, skipped={})
    a = _run(tmp_path / "a", toxicity=(1, 50), **common)
    b = _run(tmp_path / "b", toxicity=(9, 50), **common)
    out = tmp_path / "tox.csv"
    assert main(["compare", str(a), str(b), "-o", str(out)]) == 0
    _, rows = _csv_rows(out)
    share = _find(rows, "toxicity_summary", "percent", scope="all")  # 1 of 50 scored → 9 of 50
    assert (share["a"], share["b"], share["difference"]) == ("2.0", "18.0", "16.0")
    assert (share["a_base"], share["b_base"]) == ("50", "50")
    assert float(share["p_value"]) == pytest.approx(_chi_square_p(1, 50, 9, 50), rel=1e-9)
    assert share["significant"] == "true"
    fraction = _find(rows, "toxicity_histogram", "fraction", bin_lower="0.5")  # a fraction: no "pp"
    assert (fraction["unit"], fraction["a_base"], fraction["b_count"]) == ("", "50", "9")
    assert float(fraction["ci_low"]) == pytest.approx(_newcombe_pp(1, 50, 9, 50)[0] / 100, abs=1e-8)
    # Every language row is unchanged: nothing of the languages table is listed.
    assert not [r for r in rows if r["table"] == "languages"]


def test_percent_without_a_matching_denominator_gets_no_test(tmp_path) -> None:
    runs = []
    for name, share in (("x", 33.0), ("y", 40.0)):
        run = tmp_path / name
        _write(run, "custom", [{"name": "k", "documents": 7, "percent": share}], "custom")
        (run / "summary.json").write_text(json.dumps({"documents_read": 7, "documents_analysed": 7}))
        runs.append(run)
    out = tmp_path / "c.csv"
    assert main(["compare", str(runs[0]), str(runs[1]), "-o", str(out)]) == 0
    _, rows = _csv_rows(out)
    row = _find(rows, "custom", "percent", name="k")
    assert (row["difference"], row["unit"], row["p_value"], row["a_base"]) == ("7.0", "pp", "", "")


def test_real_runs_langid_pronouns(tmp_path) -> None:
    """Two real tiny runs: a filter that drops the French documents."""
    records = [{"id": f"en-{i}", "text": "She said " + SENTENCES["en"]} for i in range(6)]
    records += [{"id": f"fr-{i}", "text": SENTENCES["fr"]} for i in range(4)]
    (tmp_path / "inA").mkdir()
    (tmp_path / "inB").mkdir()
    write_jsonl(tmp_path / "inA" / "a.jsonl", records)
    write_jsonl(tmp_path / "inB" / "a.jsonl", records[:6])
    for name in ("A", "B"):
        assert run_audit(tmp_path / f"in{name}", "--output", tmp_path / name, "--stages", "langid,pronouns") == 0
    out = tmp_path / "real.csv"
    assert main(["compare", str(tmp_path / "A"), str(tmp_path / "B"), "-o", str(out)]) == 0
    _, rows = _csv_rows(out)
    en = _find(rows, "languages", "percent", language="en")  # 6 of 10 → 6 of 6
    assert (en["a"], en["b"], en["a_count"], en["a_base"], en["b_base"]) == ("60.0", "100.0", "6", "10", "6")
    assert float(en["p_value"]) == pytest.approx(_chi_square_p(6, 10, 6, 6), rel=1e-9)
    fr = _find(rows, "languages", "documents", language="fr")  # gone from B: 0 of B's documents
    assert (fr["b"], fr["difference"]) == ("0", str(-int(fr["a"])))
    assert _find(rows, "stages", "status", stage="descriptors")["a"] == "not run"
    assert _find(rows, "stages", "status", stage="pronouns")["b"] == "computed"
    # Same English documents: the pronoun shares did not change, so no pronoun row is listed.
    assert not [r for r in rows if r["table"] == "pronouns"]


def test_a_run_against_itself_lists_no_change(before_after, tmp_path, capsys) -> None:
    before, _ = before_after
    assert main(["compare", str(before), str(before)]) == 0
    text = capsys.readouterr().out
    # The same name on both sides: titled parent/name (never the full path).
    assert text.splitlines()[0] == f"# Comparison: {tmp_path.name}/before (A) vs {tmp_path.name}/before (B)"
    assert "Showing only the rows that changed (`--all` shows every row): 0 of " in text
    assert "Inputs and settings are the same." in text
    assert "No change in: `summary`, `languages`, `pronouns`, `descriptor_axes`, `descriptors`." in text
    assert "\n## languages" not in text and str(tmp_path) not in text  # no local path in the output
    out = tmp_path / "same.csv"
    assert main(["compare", str(before), str(before), "-o", str(out)]) == 0
    _, rows = _csv_rows(out)
    assert {r["table"] for r in rows} == {"stages"}  # only the stages' status, always listed


def test_reference_view_keys_on_lang_and_descriptive_columns_are_not_metrics(tmp_path) -> None:
    """gender_gap_reference rows match on their lexicon code; language_name and small_sample (a
    row's name and its denominator's size) never show as changes."""
    runs = []
    for name, (masculine, names) in (("x", (1.5, "English")), ("y", (2.0, "English (changed name)"))):
        run = tmp_path / name
        _write(run, "gender_gap_reference", [
            {"lang": "eng", "language_name": names, "language": "en", "documents": 40, "masculine": masculine,
             "small_sample": name == "y"},
            {"lang": "fra", "language_name": "French", "language": "fr", "documents": 10, "masculine": 1.0,
             "small_sample": True}], "gender_gap")
        _write(run, "gender_gap", [{"language": "en", "lexicon": "eng", "documents": 40, "tokens": 4000,
                                    "masculine": 60, "feminine": 30, "unspecified": 10}], "gender_gap")
        (run / "summary.json").write_text(json.dumps({
            "documents_read": 50, "documents_analysed": 50, "stages": {"gender_gap": {"status": "computed"}},
            "settings": {"stages": ["gender_gap"]}}))
        runs.append(run)
    out = tmp_path / "c.csv"
    assert main(["compare", str(runs[0]), str(runs[1]), "-o", str(out)]) == 0
    header, rows = _csv_rows(out)
    mine = [r for r in rows if r["table"] == "gender_gap_reference"]
    assert "lang" in header and "language_name" not in header
    assert [(r["lang"], r["metric"], r["difference"]) for r in mine] == [("eng", "masculine", "0.5")]


def test_absent_key_outside_languages_stays_absent(tmp_path) -> None:
    before = _run(tmp_path / "before", languages={"en": 10}, she_he=(3, 4, 6), axis=(2, 10),
                  trans_women=(1, 1), threshold=0.5, toxicity=None, skipped={})
    after = _run(tmp_path / "after", languages={"en": 10}, she_he=(3, 4, 6), axis=(2, 10),
                 trans_women=(1, 1), threshold=0.5, toxicity=None, skipped={})
    _write(after, "descriptors", [{"axis": "gender_and_sex", "descriptor": "trans", "documents": 1,
                                   "percent": 50.0, "rank": 1}], "descriptors")
    out = tmp_path / "diff.csv"
    assert main(["compare", str(before), str(after), "--output", str(out)]) == 0
    _, rows = _csv_rows(out)
    women = _find(rows, "descriptors", "documents", axis="gender_and_sex", descriptor="women")
    assert (women["a"], women["b"], women["difference"]) == ("1", "absent", "")


FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"]


def test_csv_text_cells_cannot_run_as_formulas_and_numbers_are_kept(tmp_path) -> None:
    before = _run(tmp_path / "before", languages={"en": 50, **{f: 10 for f in FORMULAS}}, she_he=(3, 4, 6),
                  axis=(2, 10), trans_women=(1, 1), threshold=0.5, toxicity=None, skipped={})
    after = _run(tmp_path / "after", languages={"en": 90, **{f: 2 for f in FORMULAS}}, she_he=(3, 4, 6),
                 axis=(2, 10), trans_women=(1, 1), threshold=0.5, toxicity=None, skipped={})
    out = tmp_path / "diff.csv"
    assert main(["compare", str(before), str(after), "--output", str(out)]) == 0
    _, rows = _csv_rows(out)
    languages = {r["language"] for r in rows if r["table"] == "languages"}
    assert languages == {"en", *("'" + f for f in FORMULAS)}
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), (column, value)
    formula = _find(rows, "languages", "documents", language="'" + FORMULAS[0])
    assert (formula["a"], formula["b"], formula["difference"]) == ("10", "2", "-8")  # numbers untouched
    assert _find(rows, "languages", "percent", language="'" + FORMULAS[0])["difference"].startswith("-")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 200), st.integers(0, 200), st.integers(1, 200)),
                min_size=1, max_size=30))
def test_significant_never_disagrees_with_its_interval_or_the_corrected_p(counts) -> None:
    """Issue 29: a row marked significant showed p "0.05" and a CI of [-0.008, 0.14] (the test and
    the interval were two methods). Now significant means q < 0.05 *and* the CI excludes 0, with q
    the Benjamini–Hochberg adjustment over every test of the comparison (q >= p, monotone in p)."""
    from corpus_audit.report.compare import Row, Shift, _adjusted
    from corpus_audit.stats import two_proportion_test

    rows = []
    for a, n_a, b, n_b in counts:
        a, b = min(a, n_a), min(b, n_b)
        test = two_proportion_test(a, n_a, b, n_b)
        rows.append(Row("t", (("k", len(rows)),), "percent", 100 * a / n_a, 100 * b / n_b, shift=Shift(
            a, n_a, b, n_b, 100 * test.ci_low, 100 * test.ci_high, test.p_value)))
    adjusted = _adjusted(rows)
    for row in adjusted:
        s = row.shift
        assert s.p_value <= s.q_value <= 1.0
        if s.significant:
            assert s.q_value < 0.05 and (s.ci_low > 0 or s.ci_high < 0)
    ordered = sorted(adjusted, key=lambda r: r.shift.p_value)
    assert all(x.shift.q_value <= y.shift.q_value + 1e-15 for x, y in zip(ordered, ordered[1:]))
