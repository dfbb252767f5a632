"""Nothing is written outside the run directory, whatever an input is called (issue 28, item 1).

One rule (`corpus_audit.rundir.paths`) builds every output path from input names: the property
tests feed it hostile names (``..``, ``%2e%2e``, backslashes, unicode dots, NUL, long and
absolute names) and check that the paths stay inside their root and that distinct inputs never
share a file. The end-to-end tests serve JSON lines over HTTP at hostile paths (and an index
page linking to ``../../x/victim.jsonl``), run with ``--attributes dolma`` and ``report``, and
compare a snapshot of the whole test tree and of TMPDIR before and after.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import posixpath
import subprocess
import sys
import tempfile
import threading
import unicodedata
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO_ROOT, SENTENCES, run_audit
from corpus_audit.cli import main
from corpus_audit.documents import ShardSplit
from corpus_audit.readers.discovery import RUN_DIRECTORY_MARKERS
from corpus_audit.rundir.document_writer import document_path
from corpus_audit.rundir.attributes import attribute_paths
from corpus_audit.rundir.paths import (
    MAX_COMPONENT_BYTES,
    MAX_RELATIVE_BYTES,
    UnsafePathError,
    distinct_relative_paths,
    output_path,
    safe_relative,
    unsafe_reason,
)
from corpus_audit.rundir.run_directory import LOCK_NAME, MANIFEST_NAME

HOSTILE = ["..", ".", "", "%2e%2e", "%25%32e%25%32e", "%25252e%25252e", "\uff05\uff12\uff45\uff05\uff12\uff45",
           "%2E.", ".%2e", "%252e%252e", "%2f", "..%2f..", "\\", "..\\..", "a\\b",
           "\uff0e\uff0e", "\u2025", "\u2024\u2024", "\uff0f", "\0", "a\0b", "./", "/", "/etc", "a" * 256,
           "\u00e9" * 128, "%00", "x" * 255, "x" * 239]
NORMAL = ["cc", "part-0.jsonl", "part-1.json.gz", "en", "c4-train.00000-of-01024.json.gz", "my file.jsonl",
          "a%20b.jsonl", "\u00e9t\u00e9.jsonl", "..hidden", "a..b", "x.."]
#: Fragments that combine into hostile spellings nobody listed (``%25%32e``, ``.\uff0e``, ``%2e\\``...).
ATOMS = ["\uff05", "\uff12\uff45", ".", "%2e", "%2E", "%25", "2e", "%32", "\\", "/", "%2f", "%5c", "\uff0e",
         "\u2024", "\0", "%00", "a", "\u00e9"]
component = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(NORMAL), st.text(max_size=12),
                      st.lists(st.sampled_from(ATOMS), min_size=1, max_size=5).map("".join))
components = st.lists(component, min_size=1, max_size=5)
EXAMPLES = settings(max_examples=150, deadline=None)


def _inside(path: str, root: str) -> bool:
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root and \
        os.path.normpath(path).startswith(os.path.normpath(root) + os.sep)


def _fold(path: str) -> str:
    return unicodedata.normalize("NFC", path).casefold()


def _unquoted_variants_safe(relative: str) -> bool:
    """Every component stays a plain name once decoded the ways a reader might decode it."""
    return all(unsafe_reason(part) is None for part in relative.split("/"))


def test_markers_are_the_run_directory_names() -> None:
    assert RUN_DIRECTORY_MARKERS == (MANIFEST_NAME, LOCK_NAME)


@pytest.mark.parametrize("part", HOSTILE)
def test_every_hostile_component_is_refused(part: str, tmp_path) -> None:
    if part == "x" * 255:  # a file name the disk takes, but not with its temporary suffix
        assert unsafe_reason("x" * MAX_COMPONENT_BYTES) is None and MAX_COMPONENT_BYTES + 17 == 255
    assert unsafe_reason(part) is not None
    with pytest.raises(UnsafePathError):
        output_path(str(tmp_path), "attributes", part, "f.jsonl")


@EXAMPLES
@given(components)
def test_output_path_never_leaves_its_root(parts: list[str]) -> None:
    root = "/nonexistent-root/out"
    try:
        path = output_path(root, *parts)
    except UnsafePathError:
        return
    assert _inside(path, root)
    assert path == root + "/" + safe_relative(parts) and _unquoted_variants_safe(safe_relative(parts))
    # However a later reader decodes it (percent-decoding, NFKC, backslash as separator), still inside.
    decoded, previous = path, None
    while decoded != previous:
        previous, decoded = decoded, unicodedata.normalize("NFKC", urllib.parse.unquote(decoded)).replace("\\", "/")
    assert posixpath.normpath(decoded).startswith(root + "/")


@EXAMPLES
@given(st.dictionaries(st.text(min_size=1, max_size=30), components, min_size=1, max_size=8))
def test_distinct_inputs_get_distinct_safe_paths(candidates: dict[str, list[str]]) -> None:
    paths = distinct_relative_paths(candidates)
    assert set(paths) == set(candidates)
    assert len({_fold(p) for p in paths.values()}) == len(paths)  # (b) distinct files, even case-insensitively
    for relative in paths.values():
        assert _unquoted_variants_safe(relative)  # (a) never a path out of the root
        assert _inside(output_path("/r", *relative.split("/")), "/r")
    folded = [_fold(p) for p in paths.values()]
    folders = {"/".join(p.split("/")[:depth]) for p in folded for depth in range(1, p.count("/") + 1)}
    assert not folders & set(folded)  # no file is another's folder
    assert distinct_relative_paths(dict(reversed(list(candidates.items())))) == paths  # order-free
    joined = {name: _fold("/".join(parts)) for name, parts in candidates.items()}
    for name, parts in candidates.items():
        if any(unsafe_reason(part) is not None for part in parts):
            assert "/" not in paths[name]  # its stable safe name
            continue
        others = [joined[o] for o in candidates if o != name] + [_fold(paths[o]) for o in candidates if o != name]
        mine = joined[name]
        short = len("/".join(parts).encode()) <= MAX_RELATIVE_BYTES
        if short and not any(x == mine or x.startswith(mine + "/") or mine.startswith(x + "/") for x in others):
            assert paths[name] == "/".join(parts)  # a safe name nobody else claims is kept as it is


hostile_url = st.builds(lambda parts, suffix: "http://127.0.0.1:9/" + "/".join(parts) + suffix,
                        st.lists(st.one_of(st.sampled_from(HOSTILE + NORMAL + ["documents"]), st.text(max_size=6)),
                                 min_size=1, max_size=6),
                        st.sampled_from([".jsonl", ".json.gz", "/x.jsonl", ""]))
local_name = st.builds(lambda parts: "/data/" + "/".join(parts) + ".jsonl",
                       st.lists(st.sampled_from(HOSTILE[:20] + NORMAL + ["documents"]), min_size=1, max_size=4))


@EXAMPLES
@given(st.lists(st.one_of(hostile_url, local_name), min_size=1, max_size=6, unique=True))
def test_attribute_paths_stay_in_the_run_directory_and_are_distinct(inputs: list[str]) -> None:
    out = "/nonexistent-out/run"
    targets = attribute_paths(out, inputs)
    assert len(set(targets.values())) == len(inputs)
    base = posixpath.join(out, "attributes", "corpus-audit")
    assert all(_inside(path, base) for path in targets.values())


@EXAMPLES
@given(st.one_of(hostile_url, local_name, st.text(min_size=1)), st.integers(0, 99_999))
def test_document_file_names_are_safe_and_distinct(path: str, index: int) -> None:
    key = ShardSplit(path, "jsonl", split_index=index).key
    other = ShardSplit(path + "x", "jsonl", split_index=index).key
    assert unsafe_reason(f"{key}.parquet") is None and key != other
    assert document_path("/o", key) == f"/o/documents/{key}.parquet"


def test_normal_attribute_names_are_unchanged() -> None:
    inputs = ["/d/x/documents/cc/p-0.json.gz", "/d/x/documents/cc/p-1.jsonl", "/d/x/documents/wiki/a b.jsonl"]
    assert attribute_paths("/o", inputs) == {
        path: "/o/attributes/corpus-audit/" + path.split("/documents/")[1] for path in inputs}
    urls = ["gs://b/c4/en/p.json.gz", "gs://b/c4/fr/p.json.gz", "gs://b/c4/fr/%C3%A9t%C3%A9.jsonl"]
    assert attribute_paths("/o", urls) == {url: "/o/attributes/corpus-audit/" + url.split("/", 4)[4]
                                           for url in urls}
    mixed = {"/d/x/a.jsonl": "d/x/a.jsonl", "http://h:1/x/a.jsonl": "http:/h:1/x/a.jsonl"}  # as before, on disk
    assert attribute_paths("/o", mixed) == {name: "/o/attributes/corpus-audit/" + rel for name, rel in mixed.items()}


def test_inputs_that_would_share_an_attribute_file_get_their_own() -> None:
    inputs = ["/d/a/documents/p.jsonl", "/d/b/documents/p.jsonl", "/d/c/documents/q.jsonl"]
    targets = attribute_paths("/o", inputs)
    assert len(set(targets.values())) == 3
    assert targets["/d/c/documents/q.jsonl"] == "/o/attributes/corpus-audit/q.jsonl"
    assert all(Path(targets[p]).name.startswith("p-") and targets[p].endswith(".jsonl") for p in inputs[:2])
    assert attribute_paths("/o", inputs) == targets  # stable


def test_names_one_file_on_a_case_insensitive_disk_or_too_long_get_their_own() -> None:
    inputs = ["/d/documents/A.jsonl", "/d/documents/a.jsonl", "/d/documents/\u00e9.jsonl",
              "/d/documents/e\u0301.jsonl", "/d/documents/" + "/".join(["d" * 200] * 6) + ".jsonl"]
    targets = attribute_paths("/o", inputs)
    names = [targets[p].removeprefix("/o/attributes/corpus-audit/") for p in inputs]
    assert all("/" not in name and name.endswith(".jsonl") for name in names)
    assert len({name.casefold() for name in names}) == len(inputs)


def test_output_path_refuses_symbolic_links(tmp_path) -> None:
    root, outside = tmp_path / "out", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "attributes").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        output_path(str(root), "attributes", "corpus-audit", "a.jsonl")
    (root / "file.jsonl").symlink_to(outside / "victim.jsonl")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        output_path(str(root), "file.jsonl")
    assert output_path(str(root), "plain", "a.jsonl") == str(root / "plain" / "a.jsonl")


# -- end to end: a run over hostile URLs writes only inside its directory --------------------------


def _lines(prefix: str, n: int = 3) -> bytes:
    return b"".join(json.dumps({"id": f"{prefix}{i}", "text": SENTENCES["en"]}).encode() + b"\n" for i in range(n))


class _AnyPathHandler(http.server.BaseHTTPRequestHandler):
    """JSON lines for any path ending in a JSON-lines suffix; ``INDEX`` for ``/dir/``; else 404.
    Serving by suffix (not by file) makes every hostile spelling of a path readable."""

    INDEX = b'<a href="../../x/victim.jsonl">v</a> <a href="a.jsonl">a</a> <a href="%2e%2e/%2e%2e/y/v2.jsonl">b</a>'

    def log_message(self, *args) -> None:
        pass

    def _body(self) -> bytes | None:
        path = self.path.split("?", 1)[0]
        if path.rstrip("/").endswith("dir"):
            return self.INDEX
        if path.endswith((".jsonl", ".json.gz")):
            return _lines(hashlib.sha1(path.encode()).hexdigest()[:6])
        return None

    def _serve(self, send_body: bool) -> None:
        body = self._body()
        if body is None:
            self.send_error(404)
            return
        start, stop, code = 0, len(body) - 1, 200
        requested = self.headers.get("Range")
        if requested and requested.startswith("bytes="):
            first, _, last = requested[6:].partition("-")
            start, stop, code = int(first), min(int(last) if last else stop, stop), 206
        self.send_response(code)
        self.send_header("Content-Length", str(stop - start + 1))
        self.send_header("Content-Type", "text/html" if body is self.INDEX else "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        if code == 206:
            self.send_header("Content-Range", f"bytes {start}-{stop}/{len(body)}")
        self.end_headers()
        if send_body:
            self.wfile.write(body[start:stop + 1])

    def do_GET(self) -> None:
        self._serve(True)

    def do_HEAD(self) -> None:
        self._serve(False)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AnyPathHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def snapshot(top: Path) -> dict[str, tuple[int, str]]:
    """Every file, link and folder below ``top``: (size, sha256) by path (folders: (-1, ""))."""
    entries: dict[str, tuple[int, str]] = {}
    for root, dirs, names in os.walk(top):
        for name in [*names, *dirs]:
            path = os.path.join(root, name)
            if os.path.isdir(path) and not os.path.islink(path):
                entries[path] = (-1, "")
                continue
            data = os.readlink(path).encode() if os.path.islink(path) else Path(path).read_bytes()
            entries[path] = (len(data), hashlib.sha256(data).hexdigest())
    return entries


@pytest.fixture
def confined(tmp_path, monkeypatch):
    """A deep run directory, a per-test TMPDIR and working directory inside ``tmp_path``; yields
    the run directory and checks afterwards that every new or changed file is inside it."""
    out = tmp_path / "a" / "b" / "c" / "out"  # deep enough that six ".." still land in tmp_path
    tmpdir, cwd = tmp_path / "tmpdir", tmp_path / "cwd"
    tmpdir.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    monkeypatch.chdir(cwd)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "victim.jsonl").write_bytes(b"precious\n")
    before = snapshot(tmp_path)
    yield out
    after = snapshot(tmp_path)
    changed = sorted(path for path, state in after.items() if before.get(path) != state)
    # The run directory and the folders above it are made by the run; nothing else is.
    allowed = {str(out), *map(str, out.parents)}
    outside = [path for path in changed if not path.startswith(str(out) + os.sep) and path not in allowed]
    assert changed and not outside, outside
    assert not [path for path in before if path not in after]  # nothing outside removed either
    assert not os.listdir(tmpdir), os.listdir(tmpdir)


HOSTILE_PATHS = ["/documents/../../../../../../x/victim.jsonl", "/documents/%2e%2e/%2e%2e/%2e%2e/x/victim.jsonl",
                 "/documents/..%2f..%2f..%2fx/victim.jsonl", "/documents/\uff0e\uff0e/\uff0e\uff0e/x/victim.jsonl",
                 "/documents/" + "l" * 250 + "/" + "n" * 250 + ".jsonl", "/documents/./cc/a.jsonl",
                 "/documents/cc/a.jsonl"]


def test_hostile_urls_write_only_inside_the_run(server, confined) -> None:
    inputs = [server + path for path in HOSTILE_PATHS]
    # --workers 1: the in-process engine (with this server's thread running, auto would pick Beam).
    assert run_audit(*inputs, "--output", confined, "--stages", "langid", "--attributes", "dolma",
                     "--workers", "1") == 0
    attributes = sorted(p.relative_to(confined) for p in (confined / "attributes").rglob("*") if p.is_file())
    assert len(attributes) == len(inputs)  # one file per input, none shared
    assert Path("attributes/corpus-audit/cc/a.jsonl") in attributes  # a normal name is kept
    assert main(["report", str(confined)]) == 0
    manifest = json.loads((confined / MANIFEST_NAME).read_text())
    assert {str(p) for p in attributes} <= set(manifest["files"])


def test_index_page_links_out_of_its_folder_write_only_inside_the_run(server, confined) -> None:
    assert run_audit(server + "/www/dir/", "--output", confined, "--stages", "langid", "--attributes", "dolma",
                     "--workers", "1") == 0
    attributes = [p for p in (confined / "attributes").rglob("*") if p.is_file()]
    assert len(attributes) == 3
    assert json.loads((confined / "summary.json").read_text())["input_files"] == 3


LOCAL_NAMES = ["x\\..\\..\\y.jsonl", "%2e%2e.jsonl", "\uff0e\uff0e.jsonl", "new\nline.jsonl", "a" * 249 + ".jsonl",
               "A.jsonl", "a.jsonl", "-rf.jsonl", "documents/\u2025/p.jsonl", "documents/%2e%2e/q.jsonl",
               "documents/\uff0e\uff0e/r.jsonl", "documents/s\\..\\..\\t.jsonl"]


@pytest.fixture
def hostile_corpus(tmp_path) -> Path:
    """Local files named as nobody should (made before `confined` takes its snapshot)."""
    corpus = tmp_path / "corpus"
    for index, name in enumerate(LOCAL_NAMES):
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_lines(f"f{index}-"))
    return corpus


def test_hostile_local_file_names_with_forked_workers(hostile_corpus, confined) -> None:
    """Read by two forked workers in a fresh process (no test threads, so the in-process engine
    forks), TMPDIR pointing into the test tree: every name gets its own attribute file inside."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "corpus_audit", "run", str(hostile_corpus), "--output",
                           str(confined), "--stages", "langid", "--attributes", "dolma", "--workers", "2",
                           "--runner", "local", "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    attributes = [p for p in (confined / "attributes").rglob("*") if p.is_file()]
    assert len(attributes) == len(LOCAL_NAMES)
    assert json.loads((confined / "summary.json").read_text())["settings"]["workers"] == 2
