"""Gender-GAP matchers are built per language on first use, cheaply: nothing is built at set-up,
jieba / Sudachi / pythainlp are imported only when a document in their language arrives, and
the one-pass normalisation and key tokenisation give exactly what the per-form path gives."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, SHARED_DATA
from corpus_audit.documents import DocumentBatch
from corpus_audit.lexicons import gender_gap as lexicons
from corpus_audit.transforms.gender_gap import (SEGMENTED, GenderGap, NounMatcher, RegexSplitter, normalise,
                                                word_pattern)

OFFICIAL = SHARED_DATA / "gender_gap" / "v1.0"


def _lexicon_sets() -> list[lexicons.LexiconSet]:
    sets = [lexicons.load_directory(lexicons.default_directory(), "default", "d", None)]
    if OFFICIAL.is_dir():
        sets.append(lexicons.load_directory(str(OFFICIAL), "option", "official", None))
    return sets


def _batch(texts: list[str]) -> DocumentBatch:
    batch = DocumentBatch("shard")
    for i, text in enumerate(texts):
        batch.append(str(i), text, i, None)
    return batch


# A fresh interpreter: what a worker has imported after its first documents.
_PROBE = """
import json, sys
from corpus_audit.documents import DocumentBatch
from corpus_audit.transforms.gender_gap import GenderGap
HEAVY = ("jieba", "sudachipy", "pythainlp", "spacy", "torch", "matplotlib")
def batch(texts):
    b = DocumentBatch("s")
    for i, t in enumerate(texts):
        b.append(str(i), t, i, None)
    return b
stage = GenderGap()
report = {"setup": [stage.built_languages, [m for m in HEAVY if m in sys.modules]]}
texts = ["My mother met the father of two girls."] * 3
stage.annotate(batch(texts), {"language": ["en"] * 3})
report["english"] = [stage.built_languages, [m for m in HEAVY if m in sys.modules]]
stage.annotate(batch(["我的妈妈和爸爸是好人。"]), {"language": ["zh"]})
report["chinese"] = [stage.built_languages, [m for m in HEAVY if m in sys.modules]]
print(json.dumps(report))
"""


def test_matchers_and_segmenters_load_on_the_first_document_of_their_language(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
           "CORPUS_AUDIT_CACHE": str(tmp_path)}  # the shipped default lexicons (12 languages)
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, cwd=tmp_path,
                            check=True)
    report = json.loads(result.stdout)
    assert report["setup"] == [[], []]  # nothing built, no segmenter imported, when the stage is made
    assert report["english"] == [["eng"], []]
    assert report["chinese"] == [["cmn", "eng"], ["jieba"]]


def test_a_pickled_stage_carries_no_matcher_and_stays_small() -> None:
    stage = GenderGap()
    stage.annotate(_batch(["The woman and the man."]), {"language": ["en"]})
    assert stage.built_languages == ("eng",)
    blob = pickle.dumps(stage)
    clone = pickle.loads(blob)
    assert clone.built_languages == ()
    assert clone.lexicons.languages == stage.lexicons.languages
    forms = sum(lexicon.form_count for lexicon in stage.lexicons.languages.values())
    assert len(blob) < 8 * forms  # the packed forms, not a dictionary of sets


@pytest.mark.parametrize("lexicon_set", _lexicon_sets(), ids=lambda s: s.source)
def test_one_pass_normalisation_and_keys_equal_the_per_form_path(lexicon_set) -> None:
    for code, lexicon in lexicon_set.languages.items():
        forms, _ = lexicon.unpack()
        one_pass = normalise("\n".join(forms), code).split("\n")
        assert one_pass == [normalise(form, code) for form in forms], code
        if code in SEGMENTED:
            continue
        splitter = RegexSplitter(code)
        assert splitter.keys(one_pass) == [" ".join(splitter.tokens(form)) for form in one_pass], code


@pytest.mark.parametrize("code", ["eng", "fra", "ita", "deu", "arb"])
def test_one_pass_keys_on_edge_cases(code: str) -> None:
    forms = ["", "-", "l'homme", "'s", "ex-", "-wife", "a+", "lgbtq+", "jusqu'", "mother's", "x\u0301y",
             "d'", "'", "a - b", "  ", "_", "دا", "mère-", "+", "'tis"]
    normalised = [normalise(form, code) for form in forms]
    splitter = RegexSplitter(code)
    pattern = word_pattern(code)
    expected = [" ".join(pattern.findall(form)) for form in normalised]
    assert splitter.keys(normalised) == expected


def test_matcher_counts_equal_for_duplicate_and_case_variant_forms(tmp_path: Path) -> None:
    # Forms equal once normalised ("Mother", "mother") count for every gender they are listed under.
    directory = tmp_path / "lex"
    directory.mkdir()
    (directory / "eng_nouns.json").write_text(json.dumps({
        "feminine": [{"singular": "Mother"}], "unspecified": [{"singular": "mother"}],
        "masculine": [{"singular": "FATHER", "plural": "fathers"}, {"singular": "father"}]}), encoding="utf-8")
    matcher = NounMatcher(lexicons.load_directory(str(directory), "option", "t", None).languages["eng"])
    assert matcher.count("A mother and two Fathers; a father.") == (7, 2, 1, 1)
    assert dict(matcher.key_genders()) == {"mother": {"feminine", "unspecified"}, "father": {"masculine"},
                                           "fathers": {"masculine"}}
