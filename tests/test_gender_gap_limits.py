"""Gender-GAP lexicon loading is bounded in total (files, bytes, forms, key characters) and
cheap: a directory over a bound is refused with one line naming the file, the byte total
before anything is read; the loaded lexicons pickle to a few bytes a form."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from corpus_audit.lexicons import gender_gap as lexicons
from corpus_audit.lexicons.cache import MAX_LEXICON_FILE_BYTES, LexiconError
from corpus_audit.transforms.gender_gap import NounMatcher


def _write(directory: Path, name: str, data: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _nouns(count: int, prefix: str = "w") -> dict:
    return {"feminine": [{"singular": f"{prefix}{i}a", "plural": None} for i in range(count)]}


def _sparse(path: Path, size: int) -> Path:
    """A file of ``size`` NUL bytes that takes no disk space (and is not JSON)."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def test_byte_total_is_refused_from_the_sizes_before_any_file_is_read(tmp_path: Path) -> None:
    # Two files, each under the per-file cap, together over the directory's byte total. Neither
    # is JSON: the refusal must come from their sizes, before parsing (today's loader parsed
    # every file up to 32 MB each, 55 of them: 2.9 GB and 82 s for one 28 MB file).
    half = lexicons.MAX_LEXICON_TOTAL_BYTES // 2 + 1
    assert half < MAX_LEXICON_FILE_BYTES
    directory = tmp_path / "lex"
    directory.mkdir()
    _sparse(directory / "deu_nouns.json", half)
    second = _sparse(directory / "eng_nouns.json", half)
    with pytest.raises(LexiconError) as error:
        lexicons.load_directory(str(directory), "option", "t", None)
    message = str(error.value)
    assert message.startswith(str(second)) and "bytes allowed in one lexicon directory" in message
    assert "\n" not in message


def test_byte_total_also_bounds_the_cli(tmp_path: Path, capsys) -> None:
    from conftest import run_audit, write_jsonl

    directory = tmp_path / "lex"
    directory.mkdir()
    _sparse(directory / "fra_nouns.json", lexicons.MAX_LEXICON_TOTAL_BYTES + 1)
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": "1", "text": "x"}])
    assert run_audit(shard, "--output", tmp_path / "out", "--stages", "gender_gap",
                     "--gender-gap-lexicon", directory) == 2
    err = capsys.readouterr().err
    assert "fra_nouns.json" in err and "bytes allowed" in err and "Traceback" not in err


def test_file_count_is_bounded(tmp_path: Path) -> None:
    directory = tmp_path / "lex"
    codes = [f"{a}{b}{c}" for a in "abcdefghij" for b in "abcdefghij" for c in "abc"][:lexicons.MAX_LEXICON_FILES + 1]
    for code in codes:
        _write(directory, f"{code}_nouns.json", _nouns(1))
    with pytest.raises(LexiconError, match=f"more than {lexicons.MAX_LEXICON_FILES:,} lexicon files") as error:
        lexicons.load_directory(str(directory), "option", "t", None)
    assert str(error.value).startswith(str(directory / f"{codes[-1]}_nouns.json"))
    (directory / f"{codes[-1]}_nouns.json").unlink()
    assert len(lexicons.load_directory(str(directory), "option", "t", None).languages) == lexicons.MAX_LEXICON_FILES


def test_form_total_is_bounded_across_files_and_names_the_file_that_crosses_it(tmp_path: Path) -> None:
    directory = tmp_path / "lex"
    _write(directory, "deu_nouns.json", _nouns(6))
    second = _write(directory, "eng_nouns.json", _nouns(5))
    limits = lexicons.LexiconLimits(forms=10)
    with pytest.raises(LexiconError, match="11 forms") as error:
        lexicons.load_directory(str(directory), "option", "t", None, limits)
    assert str(error.value).startswith(str(second))
    assert len(lexicons.load_directory(str(directory), "option", "t", None, lexicons.LexiconLimits(forms=11))
               .languages) == 2


def test_arabic_forms_count_as_the_keys_the_matcher_adds(tmp_path: Path) -> None:
    # The Arabic matcher adds 23 spellings with attached proclitics to each form.
    directory = tmp_path / "lex"
    _write(directory, "arb_nouns.json", {"feminine": [{"singular": "بنت"}]})
    weight = lexicons.MATCHER_KEYS_PER_FORM["arb"]
    with pytest.raises(LexiconError, match="forms"):
        lexicons.load_directory(str(directory), "option", "t", None, lexicons.LexiconLimits(forms=weight - 1))
    loaded = lexicons.load_directory(str(directory), "option", "t", None, lexicons.LexiconLimits(forms=weight))
    assert NounMatcher(loaded.languages["arb"]).key_count == weight


def test_key_characters_are_bounded(tmp_path: Path) -> None:
    directory = tmp_path / "lex"
    path = _write(directory, "eng_nouns.json", {"masculine": [{"singular": "a" * 50}]})
    with pytest.raises(LexiconError, match="characters") as error:
        lexicons.load_directory(str(directory), "option", "t", None, lexicons.LexiconLimits(characters=51))
    assert str(error.value).startswith(str(path))
    lexicons.load_directory(str(directory), "option", "t", None, lexicons.LexiconLimits(characters=52))


def test_official_sized_directory_is_far_inside_every_bound(tmp_path: Path) -> None:
    loaded = lexicons.load_directory(lexicons.default_directory(), "default", "d", None)
    assert len(loaded.languages) < lexicons.MAX_LEXICON_FILES
    assert sum(lexicon.form_count for lexicon in loaded.languages.values()) < lexicons.MAX_LEXICON_FORMS // 100


def test_loaded_lexicons_pickle_to_a_few_bytes_a_form(tmp_path: Path) -> None:
    directory = tmp_path / "lex"
    count = 20_000
    _write(directory, "eng_nouns.json", {"masculine": [{"singular": f"noun{i}", "plural": f"nouns{i}"}
                                                       for i in range(count)]})
    loaded = lexicons.load_directory(str(directory), "option", "t", None)
    lexicon = loaded.languages["eng"]
    assert lexicon.form_count == 2 * count
    assert len(pickle.dumps(loaded)) < 4 * lexicon.form_count  # a form is ~8 characters as written
    clone = pickle.loads(pickle.dumps(lexicon))
    assert clone == lexicon and clone.forms["nouns7"] == {"masculine"}


def test_packed_forms_keep_order_genders_and_odd_characters(tmp_path: Path) -> None:
    directory = tmp_path / "lex"
    _write(directory, "fra_nouns.json", {
        "feminine": [{"singular": "mère", "plural": "mères"}, {"singular": "  sœur\u00a0 ", "plural": "-"}],
        "masculine": [{"singular": "père"}, {"singular": "mère"}],  # listed under two genders
        "unspecified": [{"singular": "parent\u2028isolé"}]})  # a Unicode line separator is whitespace
    lexicon = lexicons.load_directory(str(directory), "option", "t", None).languages["fra"]
    assert list(lexicon.forms.items()) == [("mère", {"feminine", "masculine"}), ("mères", {"feminine"}),
                                           ("sœur", {"feminine"}), ("père", {"masculine"}),
                                           ("parent isolé", {"unspecified"})]
    assert lexicon.form_count == 5 and lexicon.ignored == 1
    assert lexicon.entries == {"masculine": 2, "feminine": 2, "unspecified": 1}
