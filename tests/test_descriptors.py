"""HolisticBias descriptors (SPEC §4, Llama 2 Table 9b): hand-counted fixture, lexicon
loading (official v1.0/v1.1 by path, the shipped default, the download cache) and errors."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import pytest

from conftest import SHARED_DATA, assert_balanced, read_csv, read_documents, read_summary, run_audit, write_jsonl
from corpus_audit.lexicons.holistic_bias import load_descriptor_lexicon
from corpus_audit.cli import main

HOLISTIC_BIAS = SHARED_DATA / "holistic_bias"
needs_official = pytest.mark.skipif(
    not (HOLISTIC_BIAS / "v1.1" / "descriptors.json").is_file(),
    reason=f"official HolisticBias files not found in {HOLISTIC_BIAS} (../shared/data beside the repo)")

# Read by hand. Every descriptor used here is listed, with these axes, both in the shipped
# default list and in the official v1.1 file, so the expected tables are the same for both.
DOCUMENTS = {
    "d1": "The Native American artist and her African-American friend opened a gallery downtown.",
    "d2": "A queer Buddhist writer and a gay Catholic priest debated for hours, and the queer writer won.",
    "d3": "The white house on the hill was painted black, and the road ran straight to the whitewashed barn.",
    "d4": "An American tourist and a Mexican-American chef cooked together; the American tourist loved it.",
    "d5": "Non-binary and nonbinary people, including a Muslim engineer, spoke at the conference.",
    "d6": "The weather was lovely this morning, so we walked to the market and bought fresh bread.",
}
EXPECTED_DOCUMENT_DESCRIPTORS = {
    "d1": ["race_ethnicity:african-american", "race_ethnicity:native american"],  # not nationality:american
    # queer is listed under gender_and_sex and sexual_orientation: counted under sexual_orientation (Table 9b).
    "d2": ["religion:buddhist", "religion:catholic", "sexual_orientation:gay", "sexual_orientation:queer"],
    # white / black / straight are ambiguous: matched (the paper's axis percent counts them), flagged;
    # "whitewashed" is another word.
    "d3": ["race_ethnicity:black", "race_ethnicity:white", "sexual_orientation:straight"],
    "d4": ["nationality:american", "nationality:mexican-american"],
    "d5": ["gender_and_sex:non-binary", "gender_and_sex:nonbinary", "religion:muslim"],
    "d6": [],
}
AXES_HEADER = ["axis", "documents", "percent", "documents_unambiguous", "percent_unambiguous", "denominator",
               "small_sample"]
EXPECTED_AXES = [  # percent as the paper (d3's ambiguous terms count), percent_unambiguous without them
    ["gender_and_sex", "1", "16.6667", "1", "16.6667", "6", "True"],
    ["sexual_orientation", "2", "33.3333", "1", "16.6667", "6", "True"],
    ["nationality", "1", "16.6667", "1", "16.6667", "6", "True"],
    ["race_ethnicity", "2", "33.3333", "1", "16.6667", "6", "True"],
    ["religion", "2", "33.3333", "2", "33.3333", "6", "True"],
]
EXPECTED_DESCRIPTORS = [  # ambiguous rows: no rank, after the ranked ones
    ["gender_and_sex", "non-binary", "1", "100.0000", "1", "False", "True"],
    ["gender_and_sex", "nonbinary", "1", "100.0000", "2", "False", "True"],
    ["sexual_orientation", "gay", "1", "50.0000", "1", "False", "True"],
    ["sexual_orientation", "queer", "1", "50.0000", "2", "False", "True"],
    ["sexual_orientation", "straight", "1", "50.0000", "", "True", "True"],
    ["nationality", "american", "1", "100.0000", "1", "False", "True"],
    ["nationality", "mexican-american", "1", "100.0000", "2", "False", "True"],
    ["race_ethnicity", "african-american", "1", "50.0000", "1", "False", "True"],
    ["race_ethnicity", "native american", "1", "50.0000", "2", "False", "True"],
    ["race_ethnicity", "black", "1", "50.0000", "", "True", "True"],
    ["race_ethnicity", "white", "1", "50.0000", "", "True", "True"],
    ["religion", "buddhist", "1", "50.0000", "1", "False", "True"],
    ["religion", "catholic", "1", "50.0000", "2", "False", "True"],
    ["religion", "muslim", "1", "50.0000", "3", "False", "True"],
]


@pytest.fixture
def descriptor_corpus(tmp_path):
    return write_jsonl(tmp_path / "descriptors.jsonl", [{"id": k, "text": t} for k, t in DOCUMENTS.items()])


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("CORPUS_AUDIT_CACHE", str(cache))
    return cache


def _rows(out, name):
    return read_csv(out / "tables" / f"{name}.csv")


def _run_fixture(corpus, out, *extra):
    assert run_audit(corpus, "--output", out, "--stages", "descriptors", *extra) == 0
    summary = read_summary(out)
    assert_balanced(summary)
    return summary


@pytest.mark.parametrize("version", ["default", pytest.param("v1.1", marks=needs_official)])
def test_descriptor_tables_match_hand_counts(descriptor_corpus, tmp_path, empty_cache, version):
    out = tmp_path / "out"
    extra = [] if version == "default" else ["--holistic-bias-descriptors", HOLISTIC_BIAS / version / "descriptors.json"]
    summary = _run_fixture(descriptor_corpus, out, *extra)
    assert _rows(out, "descriptor_axes") == [AXES_HEADER, *EXPECTED_AXES]
    descriptors = _rows(out, "descriptors")
    assert descriptors[0] == ["axis", "descriptor", "documents", "percent", "rank", "ambiguous", "small_sample"]
    assert [row for row in descriptors[1:] if row[2] != "0"] == EXPECTED_DESCRIPTORS
    # The table keeps every descriptor of the list, never-found ones with 0 and no rank (issue 29:
    # descriptors.csv ranked terms found in 0 documents).
    lexicon = load_descriptor_lexicon(None if version == "default" else str(HOLISTIC_BIAS / version))
    assert len(descriptors) - 1 == len(lexicon.terms)
    amish = [row for row in descriptors[1:] if row[:2] == ["religion", "amish"]]
    assert len(amish) == 1 and amish[0][2:5] == ["0", "0.0000", ""]
    assert all(row[4] == "" for row in descriptors[1:] if row[2] == "0")
    documents = {row["id"]: row for row in read_documents(out)}
    assert {k: row["holistic_bias_descriptors"] for k, row in documents.items()} == EXPECTED_DOCUMENT_DESCRIPTORS
    assert documents["d2"]["holistic_bias_axes"] == ["sexual_orientation", "religion"]
    settings = summary["stages"]["descriptors"]
    if version == "default":
        assert settings["lexicon"] == "corpus-audit-default-descriptors"
        assert settings["lexicon_version"].startswith("corpus-audit-default-")
    else:
        assert (settings["lexicon"], settings["lexicon_version"]) == ("holistic-bias", "v1.1")
    queer = [entry for entry in settings["terms_listed_under_several_axes"] if entry["descriptor"] == "queer"]
    assert queer == [{"descriptor": "queer", "listed_under": ["gender_and_sex", "sexual_orientation"],
                      "counted_under": "sexual_orientation"}]
    assert settings["ambiguous_terms"] == ["black", "straight", "white"]
    markdown = (out / "tables" / "descriptors.md").read_text()
    assert "| religion | muslim | 1 | 50.0 \u2020 | 3 | no |" in markdown  # 2 documents mention religion
    assert "| white |" not in markdown and "| straight |" not in markdown  # never in the top-k view


def test_ambiguous_and_excluded_terms_are_configurable(descriptor_corpus, tmp_path, empty_cache):
    out = tmp_path / "out"
    _run_fixture(descriptor_corpus, out, "--ambiguous-terms", "")
    axes = {row[0]: row[1:] for row in _rows(out, "descriptor_axes")[1:]}
    assert axes["race_ethnicity"][:4] == ["2", "33.3333", "2", "33.3333"]  # d3 counts both ways now
    ranked = {(row[0], row[1]): row[4] for row in _rows(out, "descriptors")[1:] if row[2] != "0"}
    assert ranked[("race_ethnicity", "white")] != "" and ranked[("sexual_orientation", "straight")] != ""
    out = tmp_path / "excluded"
    _run_fixture(descriptor_corpus, out, "--exclude-terms", "straight,white,black")
    axes = {row[0]: row[1:] for row in _rows(out, "descriptor_axes")[1:]}
    assert axes["race_ethnicity"][:2] == ["1", "16.6667"]  # not matched at all
    found = {(row[0], row[1]) for row in _rows(out, "descriptors")[1:]}
    assert ("race_ethnicity", "white") not in found


def test_axis_priority_and_axes_selection(descriptor_corpus, tmp_path, empty_cache):
    out = tmp_path / "out"
    _run_fixture(descriptor_corpus, out, "--descriptor-axis-priority", "gender_and_sex",
                 "--axes", "sexual_orientation,gender_and_sex")
    assert [row[:3] for row in _rows(out, "descriptor_axes")[1:]] == [["sexual_orientation", "2", "33.3333"],
                                                                     ["gender_and_sex", "2", "33.3333"]]
    descriptors = {(row[0], row[1]) for row in _rows(out, "descriptors")[1:] if row[2] != "0"}
    assert ("gender_and_sex", "queer") in descriptors and ("sexual_orientation", "queer") not in descriptors


def test_repeated_terms_count_once_per_document(tmp_path, empty_cache):
    corpus = write_jsonl(tmp_path / "c.jsonl", [
        {"id": "r1", "text": "The Catholic school, the Catholic church and the Catholic choir were all in town."},
        {"id": "r2", "text": "A Catholic priest visited the village school on Sunday afternoon with friends."},
    ])
    out = tmp_path / "out"
    _run_fixture(corpus, out)
    assert ["religion", "catholic", "2", "100.0000", "1", "False", "True"] in _rows(out, "descriptors")


def test_descriptors_on_all_documents_and_by_language(tmp_path, empty_cache):
    corpus = write_jsonl(tmp_path / "c.jsonl", [
        {"id": "en1", "text": "The Buddhist monks walked slowly up the hill to the old temple at dawn."},
        {"id": "en2", "text": "We met a friendly American couple at the station and talked about the trains."},
        {"id": "fr1", "text": "Les moines bouddhistes et un prêtre catholique ont visité le village ce matin."},
        {"id": "de1", "text": "Ein katholischer Priester besuchte am Sonntag das kleine Dorf in den Bergen."},
    ])
    out = tmp_path / "out"
    _run_fixture(corpus, out, "--english-lexicons-on", "all")
    # fr1: "catholique" is not "catholic"; nothing matches in fr1 / de1, but they are in scope.
    assert [row[:3] for row in _rows(out, "descriptor_axes")[1:]] == [["gender_and_sex", "0", "0.0000"],
                                                                     ["sexual_orientation", "0", "0.0000"],
                                                                     ["nationality", "1", "25.0000"],
                                                                     ["race_ethnicity", "0", "0.0000"],
                                                                     ["religion", "1", "25.0000"]]
    assert {row[5] for row in _rows(out, "descriptor_axes")[1:]} == {"4"}  # every document in scope
    by_language = {(row[0], row[2]): row[3:6] for row in _rows(out, "descriptor_axes_by_language")[1:]}
    assert {(row[0], row[1]) for row in _rows(out, "descriptor_axes_by_language")[1:]} == {
        ("en", "English"), ("fr", "French"), ("de", "German")}
    assert by_language[("en", "religion")] == ["1", "2", "50.0000"]
    assert by_language[("en", "nationality")] == ["1", "2", "50.0000"]
    assert by_language[("fr", "religion")] == ["0", "1", "0.0000"]
    assert by_language[("de", "religion")] == ["0", "1", "0.0000"]


def test_tables_do_not_depend_on_batch_size(descriptor_corpus, tmp_path, empty_cache):
    outs = []
    for batch in ("1000", "2"):
        out = tmp_path / f"out-{batch}"
        assert run_audit(descriptor_corpus, "--output", out, "--batch-documents", batch) == 0
        outs.append(out)
    for name in ("pronouns", "descriptor_axes", "descriptors", "descriptor_axes_by_language"):
        for suffix in (".csv", ".parquet", ".md"):
            assert (outs[0] / "tables" / f"{name}{suffix}").read_bytes() == \
                   (outs[1] / "tables" / f"{name}{suffix}").read_bytes(), name + suffix


def test_corrupt_cache_manifest_is_a_clear_error(tmp_path, empty_cache, capsys):
    cached = empty_cache / "holistic-bias" / "v1.1"
    cached.mkdir(parents=True)
    (cached / "descriptors.json").write_text(json.dumps({"religion": {"all": ["Amish"]}}))
    (cached / "manifest.json").write_text("{broken")
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"text": DOCUMENTS["d1"]}])
    assert run_audit(corpus, "--output", tmp_path / "out", "--stages", "descriptors") == 2
    error = capsys.readouterr().err
    assert "manifest.json" in error and "not valid JSON" in error


@needs_official
def test_official_v1_0_and_v1_1_files_load():
    v10 = load_descriptor_lexicon(str(HOLISTIC_BIAS / "v1.0" / "descriptors.json"))
    v11 = load_descriptor_lexicon(str(HOLISTIC_BIAS / "v1.1"))  # a directory holding descriptors.json
    assert (v10.version, v11.version) == ("v1.0", "v1.1")
    for lexicon in (v10, v11):
        assert lexicon.axes == ("gender_and_sex", "sexual_orientation", "nationality", "race_ethnicity", "religion")
        assert lexicon.ambiguous == {("white",), ("black",), ("straight",)}  # matched, flagged
        assert lexicon.terms[("native", "american")] == ("race_ethnicity", "native american")
        assert lexicon.terms[("latina",)] == ("race_ethnicity", "latina")  # v1.x object entries
        assert all(n > 0 for n in lexicon.descriptors_per_axis().values())
    assert ("lgbtq+",) in v11.terms and ("lgbtq+",) not in v10.terms


@pytest.mark.parametrize("content, problem", [
    (b"[1, 2]", "expected a JSON object of axis -> buckets"),
    (b"{\"religion\": {\"all\": [\"Amish\", 3]}}", "axis 'religion' bucket 'all' item 1"),
    (b"{\"religion\": \"Amish\"}", "axis 'religion': expected an object of bucket"),
    (json.dumps({"religion": {"all": ["Amish"]}}).encode(), "no axis 'gender_and_sex'"),
    (b"\xff\xfe not utf-8", "not UTF-8"),
    (b"{\"religion\": ", "not valid JSON"),
    (None, "descriptors file not found"),  # a directory without descriptors.json
])
def test_malformed_descriptor_file_is_a_clear_error(tmp_path, capsys, content, problem):
    path = tmp_path / "descriptors.json"
    if content is None:
        path = tmp_path / "a-directory"
        path.mkdir()
    else:
        path.write_bytes(content)
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"text": DOCUMENTS["d1"]}])
    assert run_audit(corpus, "--output", tmp_path / "out", "--holistic-bias-descriptors", path) == 2
    error = capsys.readouterr().err
    assert str(path) in error and problem in error


def _serve(directory):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_download_into_cache_over_http_then_used_by_runs(tmp_path, descriptor_corpus, empty_cache):
    # A small file in the official layout, served by a local HTTP server (no internet here).
    site = tmp_path / "site" / "v1.1"
    site.mkdir(parents=True)
    official = {axis: {"all": names} for axis, names in {
        "gender_and_sex": ["non-binary", {"descriptor": "queer"}], "sexual_orientation": ["queer", "gay"],
        "nationality": ["American"], "race_ethnicity": ["Native American"], "religion": ["Muslim"],
        "age": ["old"]}.items()}
    (site / "descriptors.json").write_text(json.dumps(official))
    server = _serve(site.parent)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/v1.1"
        assert main(["lexicons", "download", "holistic-bias", "--url", base]) == 0
        assert main(["lexicons", "download", "holistic-bias", "--url", base + "/missing"]) == 2
    finally:
        server.shutdown()
    cached = empty_cache / "holistic-bias" / "v1.1"
    manifest = json.loads((cached / "manifest.json").read_text())
    assert manifest["files"][0]["url"] == f"{base}/descriptors.json"  # the failed retry kept the good copy
    assert json.loads((cached / "descriptors.json").read_text()) == official

    out = tmp_path / "out"
    summary = _run_fixture(descriptor_corpus, out)
    settings = summary["stages"]["descriptors"]
    # Not the official file's bytes (a small list in its layout): labelled by digest, not by folder.
    assert (settings["lexicon"], settings["lexicon_version"]) == ("custom", "modified from holistic-bias v1.1")
    assert settings["lexicon_source"] == str(cached / "descriptors.json")
    assert settings["descriptors_per_axis"] == {"gender_and_sex": 1, "sexual_orientation": 2, "nationality": 1,
                                                "race_ethnicity": 1, "religion": 1}
    assert [row[:3] for row in _rows(out, "descriptor_axes")[1:]] == [["gender_and_sex", "1", "16.6667"],
                                                                     ["sexual_orientation", "1", "16.6667"],
                                                                     ["nationality", "1", "16.6667"],
                                                                     ["race_ethnicity", "1", "16.6667"],
                                                                     ["religion", "1", "16.6667"]]


def test_download_refuses_a_file_that_is_not_a_descriptor_list(tmp_path, empty_cache, capsys):
    site = tmp_path / "site"
    site.mkdir()
    (site / "descriptors.json").write_text(json.dumps({"religion": {"all": ["Amish"]}}))
    assert main(["lexicons", "download", "holistic-bias", "--url", site.as_uri()]) == 2
    assert "not a HolisticBias descriptors file" in capsys.readouterr().err
    assert not (empty_cache / "holistic-bias" / "v1.1").exists()
    assert main(["lexicons", "list"]) == 0
    assert "holistic-bias v1.1" in capsys.readouterr().out


class _TruncatingHandler(http.server.BaseHTTPRequestHandler):
    """Promises 10,000 bytes, sends 20 and closes: a download cut off mid-way."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(b'{"religion": {"all":')
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_cut_off_download_is_an_error_and_leaves_no_cache(tmp_path, empty_cache, capsys):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TruncatingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1.1"
        assert main(["lexicons", "download", "holistic-bias", "--url", url]) == 2
    finally:
        server.shutdown()
    error = capsys.readouterr().err
    assert f"{url}/descriptors.json" in error and ("incomplete" in error.lower() or "cannot download" in error)
    assert not (empty_cache / "holistic-bias" / "v1.1").exists()
    assert list((empty_cache / "holistic-bias").iterdir()) == []  # no staging directory left behind


@needs_official
def test_official_v1_1_shared_terms_count_under_sexual_orientation():
    """Llama 2 Table 9b lists lgbt, lgbtq and queer under Sexual Orientation: the default priority."""
    lexicon = load_descriptor_lexicon(str(HOLISTIC_BIAS / "v1.1"))
    shared = {entry["descriptor"]: entry for entry in lexicon.reassigned}
    assert set(shared) == {"lgbt", "lgbtq", "lgbtq+", "queer"}
    for term, entry in shared.items():
        assert entry["listed_under"] == ["gender_and_sex", "sexual_orientation"]
        assert entry["counted_under"] == "sexual_orientation", term
        assert lexicon.terms[tuple(term.split())][0] == "sexual_orientation" or term == "lgbtq+"
    assert lexicon.terms[("queer",)] == ("sexual_orientation", "queer")
    # The ambiguous terms are matched (the paper's axis percent counts them) and flagged.
    assert lexicon.is_ambiguous(("race_ethnicity", "white"))
    assert lexicon.is_ambiguous(("sexual_orientation", "straight"))


@needs_official
def test_official_lists_are_identified_by_digest(tmp_path, descriptor_corpus, empty_cache):
    """An edited copy under ``v1.1/`` is not "holistic-bias v1.1"; the official bytes anywhere are."""
    official = json.loads((HOLISTIC_BIAS / "v1.1" / "descriptors.json").read_text())
    edited = tmp_path / "v1.1" / "descriptors.json"
    edited.parent.mkdir()
    official["religion"] = {"extra": ["Pastafarian"], **official["religion"]}
    edited.write_text(json.dumps(official))
    lexicon = load_descriptor_lexicon(str(edited))
    assert (lexicon.name, lexicon.version) == ("custom", "modified from holistic-bias v1.1")
    elsewhere = tmp_path / "mine" / "descriptors.json"
    elsewhere.parent.mkdir()
    elsewhere.write_text(json.dumps({"religion": {"x": ["Amish"]}, "gender_and_sex": ["female"],
                                     "sexual_orientation": ["gay"], "nationality": ["american"],
                                     "race_ethnicity": ["asian"]}))
    assert load_descriptor_lexicon(str(elsewhere)).name == "custom"
    assert load_descriptor_lexicon(str(elsewhere)).version == "custom"
    copy = tmp_path / "renamed" / "descriptors.json"
    copy.parent.mkdir()
    copy.write_bytes((HOLISTIC_BIAS / "v1.1" / "descriptors.json").read_bytes())
    assert (load_descriptor_lexicon(str(copy)).name, load_descriptor_lexicon(str(copy)).version) == \
        ("holistic-bias", "v1.1")
    out = tmp_path / "out"
    _run_fixture(descriptor_corpus, out, "--holistic-bias-descriptors", edited)
    datasheet = (out / "datasheet.md").read_text()
    assert "holistic-bias v1.1`" not in datasheet and "modified from holistic-bias v1.1 (sha256" in datasheet
