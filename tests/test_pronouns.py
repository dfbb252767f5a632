"""Pronouns (SPEC §3, Llama 2 Table 9a) on a hand-counted fixture.

Expected counts below were made by reading each sentence, not by running the code.
"""

from __future__ import annotations

import gzip
import json
import unicodedata

import pytest

from conftest import (
    SHARED_SHARDS,
    assert_balanced,
    needs_shared_corpora,
    read_csv,
    read_documents,
    read_summary,
    run_audit,
    write_jsonl,
)
from corpus_audit.lexicons.matching import (
    FULL_PATTERN,
    EnglishTokens,
    TermMatcher,
    english_tokens,
    lexicon_words,
    normalise_english,
    term_tokens,
    word_tokens,
)

# id → (text, pronoun groups present), read by hand.
ENGLISH = {
    "p1": ("Her brother said that his/her form was lost at the station yesterday.", {"she", "he", "third_person"}),
    "p2": ("They're sure it's going to rain before the evening train arrives.", {"unspecified", "third_person"}),
    "p3": ("We told you about our trip to the mountains last summer.", {"first_person", "second_person"}),
    "p4": ("The committee approved the budget after a long debate on Tuesday.", set()),
    "p5": ("She said the hermit lived there, and the theme of the talk was history.", {"she", "third_person"}),
    "p6": ("Itself a small town, the place keeps its charm; I love it.", {"third_person", "first_person"}),
}
OTHER = {
    "p7": "Il a dit qu'elle était partie au marché avec ses amis hier soir.",  # fr: no English pronoun
    "p8": "I ragazzi sono andati al mare con i loro amici durante le vacanze estive.",  # it: "i" is 1st person
}


@pytest.fixture
def pronoun_corpus(tmp_path):
    records = [{"id": key, "text": text, "source": "web" if key in ("p1", "p2", "p3") else "books"}
               for key, (text, _) in ENGLISH.items()]
    records += [{"id": key, "text": text, "source": "web"} for key, text in OTHER.items()]
    return write_jsonl(tmp_path / "pronouns.jsonl", records)


def _table(out, name="pronouns"):
    rows = read_csv(out / "tables" / f"{name}.csv")
    return rows[0], rows[1:]


def test_word_tokens_tricky_cases():
    # Clitics are tokens of their own, apostrophe included (spaCy's English convention).
    assert word_tokens("Her his/her they're it's") == ["her", "his", "her", "they", "'re", "it", "'s"]
    assert word_tokens("SHE’LL 'they' said") == ["she", "'ll", "they", "said"]  # quotes are no clitic
    assert word_tokens("Non-binary African-American whitewash LGBTQ+") == [
        "non-binary", "african-american", "whitewash", "lgbtq+"]
    assert word_tokens("she--he, she- and he-goats") == ["she", "he", "she", "and", "he-goats"]
    assert word_tokens("THEM Them them") == ["them"] * 3
    assert word_tokens("he+she and _she_ or LGBTQ+") == ["he", "she", "and", "she", "or", "lgbtq+"]
    # Turkish capital dotted I lowercases to "i" + a combining dot: one word, not the pronoun "i".
    assert "i" not in word_tokens("İstanbul is a lovely city")
    assert word_tokens(unicodedata.normalize("NFD", "Māori")) == ["māori"]  # decomposed accents
    assert word_tokens("African\u2010American non\u2011binary trans\u00adgender") == [
        "african-american", "non-binary", "transgender"]


def test_english_tokens_shared_with_gender_gap():
    """The tokens Gender-GAP counts: hyphens between words are tokens of their own (not words),
    compounds are joined back for the pronoun and descriptor lists."""
    text = "His ex-wife's mother-in-law, she- and he-goats, she--he, o'brien and Asian-Americans."
    tokens = english_tokens(text)
    assert tokens == ["his", "ex", "-", "wife", "'s", "mother", "-", "in", "-", "law", "she", "and", "he", "-",
                      "goats", "she", "he", "o", "'brien", "and", "asian", "-", "americans"]
    assert lexicon_words(tokens) == word_tokens(text) == [
        "his", "ex-wife", "'s", "mother-in-law", "she", "and", "he-goats", "she", "he", "o", "'brien", "and",
        "asian-americans"]
    shared = EnglishTokens.of(text)
    assert shared.tokens == tokens and shared.words == lexicon_words(tokens)
    assert shared.unique_words == set(shared.words)
    # Non-ASCII text takes the full pattern; ASCII text a shorter one with the same tokens.
    assert english_tokens("Māori’s café-owner") == ["māori", "'s", "café", "-", "owner"]
    assert english_tokens("C++ and LGBTQ+") == ["c+", "and", "lgbtq+"]


def test_term_matcher_is_leftmost_longest():
    matcher = TermMatcher({term_tokens(t): t for t in ("Native American", "American", "East Asian", "Asian")})
    assert matcher.find(word_tokens("a Native American writer")) == {"Native American"}
    assert matcher.find(word_tokens("an American and a Native American")) == {"American", "Native American"}
    assert matcher.find(word_tokens("American native; East Asian")) == {"American", "East Asian"}
    assert matcher.find(word_tokens("an Asian-American")) == set()  # hyphenated forms only as listed


def test_pronoun_table_matches_hand_counts(pronoun_corpus, tmp_path):
    out = tmp_path / "out"
    assert run_audit(pronoun_corpus, "--output", out, "--stages", "pronouns") == 0
    summary = read_summary(out)
    assert_balanced(summary)
    documents = {row["id"]: row for row in read_documents(out)}
    assert {key for key, row in documents.items() if row["language"] == "en"} == set(ENGLISH)

    header, rows = _table(out)
    assert header == ["group", "documents", "denominator", "percent", "small_sample"]
    assert rows == [  # denominators of 6 and 3 documents: every percentage is a small sample
        ["gendered", "3", "6", "50.0000", "True"],
        ["she", "2", "3", "66.6667", "True"],
        ["he", "1", "3", "33.3333", "True"],
        ["unspecified", "1", "3", "33.3333", "True"],
        ["any", "5", "6", "83.3333", "True"],
        ["first_person", "2", "6", "33.3333", "True"],
        ["second_person", "1", "6", "16.6667", "True"],
        ["third_person", "4", "6", "66.6667", "True"],
    ]
    for key, (_, groups) in ENGLISH.items():
        row = documents[key]
        assert row["english_lexicons_applied"] is True
        for group in ("she", "he", "unspecified", "first_person", "second_person", "third_person"):
            assert row[f"doc_has_{group}_pronoun"] is (group in groups), (key, group)
        assert row["doc_has_gendered_pronoun"] is bool(groups & {"she", "he", "unspecified"})
        assert row["doc_has_any_pronoun"] is bool(groups)
    for key in OTHER:  # not English: the lists do not apply, flags are null
        assert documents[key]["english_lexicons_applied"] is False
        assert documents[key]["doc_has_any_pronoun"] is None
    assert summary["stages"]["pronouns"]["english_lexicons_on"] == "english"


def test_english_lexicons_on_all_documents(pronoun_corpus, tmp_path):
    out = tmp_path / "out"
    assert run_audit(pronoun_corpus, "--output", out, "--stages", "pronouns", "--english-lexicons-on", "all") == 0
    _, by_language = _table(out, "pronouns_by_language")
    italian = {row[2]: row[3:6] for row in by_language if row[0] == "it"}
    assert {row[1] for row in by_language if row[0] == "it"} == {"Italian"}
    assert italian["first_person"] == ["1", "1", "100.0000"] and italian["gendered"] == ["0", "1", "0.0000"]
    french = {row[2]: row[3:6] for row in by_language if row[0] == "fr"}
    assert french["any"] == ["0", "1", "0.0000"]
    _, rows = _table(out)
    by_group = {row[0]: row[1:4] for row in rows}
    assert by_group["gendered"] == ["3", "8", "37.5000"]
    assert by_group["any"] == ["6", "8", "75.0000"]  # + the Italian "i"
    assert by_group["first_person"] == ["3", "8", "37.5000"]
    assert by_group["she"] == ["2", "3", "66.6667"]


def test_pronoun_breakdowns_by_language_and_group(pronoun_corpus, tmp_path):
    out = tmp_path / "out"
    assert run_audit(pronoun_corpus, "--output", out, "--stages", "pronouns", "--group-by", "source") == 0
    header, rows = _table(out, "pronouns_by_language")
    assert header == ["language", "language_name", "group", "documents", "denominator", "percent", "small_sample"]
    assert {(row[0], row[1]) for row in rows} == {("en", "English")}  # only English documents are in scope by default
    _, overall = _table(out)
    assert [row[2:] for row in rows] == overall  # ... so the English rows are the overall table
    header, rows = _table(out, "pronouns_by_source")
    assert header == ["source", "group", "documents", "denominator", "percent", "small_sample"]
    by_key = {(row[0], row[1]): row[2:5] for row in rows}
    # web: p1, p2, p3 in scope (p7, p8 are not English); books: p4, p5, p6.
    assert by_key[("web", "gendered")] == ["2", "3", "66.6667"]
    assert by_key[("web", "second_person")] == ["1", "3", "33.3333"]
    assert by_key[("books", "gendered")] == ["1", "3", "33.3333"]
    assert by_key[("books", "first_person")] == ["1", "3", "33.3333"]


@pytest.mark.parametrize("content, problem", [
    (b"{not json", "not valid JSON"),
    (json.dumps({"she": ["she"]}).encode(), "group 'he' is missing"),
    (json.dumps({"_about": [1]}).encode(), "\"_about\" must be an object"),
    (None, "not a lexicon file"),
    (json.dumps({g: ["a b"] for g in ("she", "he", "unspecified", "first_person", "second_person",
                                      "third_person")}).encode(), "is not a single word"),
])
def test_malformed_pronoun_lexicon_is_a_clear_error(tmp_path, capsys, content, problem):
    lexicon = tmp_path / "pronouns.json"
    if content is None:
        lexicon.mkdir()
    else:
        lexicon.write_bytes(content)
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"text": ENGLISH["p1"][0]}])
    assert run_audit(corpus, "--output", tmp_path / "out", "--stages", "pronouns",
                     "--pronoun-lexicon", lexicon) == 2
    error = capsys.readouterr().err
    assert str(lexicon) in error and problem in error
    assert not (tmp_path / "out").exists()  # nothing written before the check


def _full_pattern_tokens(text: str) -> list[str]:
    normalised = normalise_english(text)
    return FULL_PATTERN.findall(normalised)


def test_specialised_token_patterns_equal_the_full_pattern():
    """english_tokens picks a shorter regex by what the text holds (ASCII, "+", "'", "-");
    every choice must give the tokens of the one full pattern."""
    cases = ["plain ascii words only", "it's they're o'clock 'quoted' rock'n'roll", "ex-wife -x x- a--b",
             "C++ LGBTQ+ he+she +x", "café naïve Ma\u0304ori \u0939\u093f\u0902\u0926\u0940",
             "we\u2019re \u2018hi\u2019 non\u2011binary soft\u00adhyphen", "under_score __init__ 'x' -'- '-'",
             "a'-b a-'b 1-2 x'1 \u00e9-\u00e9 \u00e9'\u00e9", ""]
    for text in cases:
        assert english_tokens(text) == _full_pattern_tokens(text), text


@needs_shared_corpora
def test_specialised_token_patterns_on_shared_text():
    texts = []
    for path in sorted(SHARED_SHARDS.glob("*.jsonl.gz"))[:2]:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            texts.extend(json.loads(line).get("text") or "" for line in lines)
    assert len(texts) > 100
    for text in texts:
        assert english_tokens(text) == _full_pattern_tokens(text)
