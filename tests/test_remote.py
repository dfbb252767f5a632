"""Remote inputs through fsspec, offline: memory://, an HTTP server with range requests on
127.0.0.1, and a stand-in for the Hugging Face Hub's API (HF_ENDPOINT) serving the four
endpoints HfFileSystem calls for a glob and a read (repo info, tree, resolve with Range)."""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import fsspec
import pytest

from conftest import REPO_ROOT, SENTENCES, read_documents, read_summary, run_audit
from corpus_audit import remote
from corpus_audit.errors import InputError, UsageError
from corpus_audit.readers import detect_format

#: C4's own names (``.json.gz``) once the readers accept them; ``.jsonl.gz`` before that.
C4_SUFFIX = ".json.gz" if detect_format("c4-train.00000-of-01024.json.gz") else ".jsonl.gz"


def _lines(n: int, prefix: str = "d") -> bytes:
    return b"".join(json.dumps({"id": f"{prefix}{i}", "text": SENTENCES["en" if i % 2 else "fr"]}).encode() + b"\n"
                    for i in range(n))


# -- servers ---------------------------------------------------------------------------------------


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 in a daemon thread; ``requests`` logs (method, path, range)."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.requests: list[tuple[str, str, str | None]] = []
        handler.server_log = self.requests
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _send_file(handler: http.server.BaseHTTPRequestHandler, path: str, send_body: bool) -> None:
    """A file with ``Range: bytes=a-b`` support (206 and Content-Range), as object stores do."""
    size = os.path.getsize(path)
    start, stop, code = 0, size - 1, 200
    requested = handler.headers.get("Range")
    if requested:
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", requested.strip())
        start = int(match.group(1))
        stop = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        code = 206
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(stop - start + 1)
    handler.send_response(code)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Accept-Ranges", "bytes")
    handler.send_header("ETag", '"%s"' % hashlib.sha1(path.encode()).hexdigest())
    if code == 206:
        handler.send_header("Content-Range", f"bytes {start}-{stop}/{size}")
    handler.end_headers()
    if send_body:
        handler.wfile.write(data)


def _range_handler(root: Path) -> type[http.server.SimpleHTTPRequestHandler]:
    class RangeHandler(http.server.SimpleHTTPRequestHandler):
        """Static files under ``root`` (directory index pages included) with range requests."""

        server_log: list = []

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:
            pass

        def _serve(self, send_body: bool) -> None:
            self.server_log.append((self.command, self.path, self.headers.get("Range")))
            path = self.translate_path(self.path)
            if os.path.isfile(path):
                _send_file(self, path, send_body)
            elif send_body:
                super().do_GET()
            else:
                super().do_HEAD()

        def do_GET(self) -> None:
            self._serve(True)

        def do_HEAD(self) -> None:
            self._serve(False)

    return RangeHandler


def _hub_handler(root: Path) -> type[http.server.BaseHTTPRequestHandler]:
    """The Hub's API for datasets under ``root/ORG/NAME/``: what HfFileSystem calls for a glob
    and a read. Anything else is a 404 (so an unexpected call fails the test's run visibly)."""

    class HubHandler(http.server.BaseHTTPRequestHandler):
        server_log: list = []

        def log_message(self, *args) -> None:
            pass

        def _json(self, payload: object, code: int = 200) -> None:
            body = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _tree(self, repo: str, prefix: str, recursive: bool) -> list[dict]:
            base = root / repo
            entries = []
            for path in sorted(base.rglob("*")):
                rel = path.relative_to(base).as_posix()
                inside = rel[len(prefix) + 1:] if prefix else rel
                if prefix and not rel.startswith(prefix + "/") or (not recursive and "/" in inside):
                    continue
                oid = hashlib.sha1(rel.encode()).hexdigest()
                entries.append({"type": "file", "path": rel, "size": path.stat().st_size, "oid": oid}
                               if path.is_file() else {"type": "directory", "path": rel, "oid": oid})
            return entries

        def _serve(self, send_body: bool) -> None:
            url = urllib.parse.urlparse(self.path)
            path = urllib.parse.unquote(url.path)
            self.server_log.append((self.command, path, self.headers.get("Range")))
            repo = r"(?P<repo>[^/]+/[^/]+)"
            if re.fullmatch(rf"/api/datasets/{repo}(/revision/[^/]+)?", path):
                name = path.split("/")[3] + "/" + path.split("/")[4]
                if not (root / name).is_dir():
                    return self._json({"error": "Repository not found"}, 404)
                return self._json({"id": name, "sha": "a" * 40, "private": False})
            match = re.fullmatch(rf"/api/datasets/{repo}/tree/(?P<rev>[^/]+)(?P<sub>/.*)?", path)
            if match:
                recursive = urllib.parse.parse_qs(url.query).get("recursive", ["false"])[0].lower() == "true"
                return self._json(self._tree(match["repo"], (match["sub"] or "").strip("/"), recursive))
            match = re.fullmatch(rf"/datasets/{repo}/resolve/(?P<rev>[^/]+)/(?P<file>.+)", path)
            if match and (root / match["repo"] / match["file"]).is_file():
                return _send_file(self, str(root / match["repo"] / match["file"]), send_body)
            return self._json({"error": "not found"}, 404)

        def do_GET(self) -> None:
            self._serve(True)

        def do_HEAD(self) -> None:
            self._serve(False)

    return HubHandler


@pytest.fixture
def web(tmp_path):
    root = tmp_path / "www"
    (root / "sub").mkdir(parents=True)
    (root / "a.jsonl").write_bytes(_lines(3, "a"))
    with gzip.GzipFile(root / "sub" / "b.jsonl.gz", "wb", mtime=0) as f:
        f.write(_lines(4, "b"))
    (root / "sub" / "notes.md").write_text("not a shard\n")
    server = _Server(_range_handler(root))
    yield server
    server.close()


@pytest.fixture
def hub(tmp_path):
    root = tmp_path / "hub"
    data = root / "org" / "c4mini" / "en"
    data.mkdir(parents=True)
    for shard in range(3):
        with gzip.GzipFile(data / f"c4-train.0000{shard}-of-01024{C4_SUFFIX}", "wb", mtime=0) as f:
            f.write(_lines(5, f"s{shard}-"))
    (root / "org" / "c4mini" / "README.md").write_text("# c4mini\n")
    server = _Server(_hub_handler(root))
    yield server
    server.close()


# -- schemes and parsing ---------------------------------------------------------------------------


def test_schemes_fsspec_handles() -> None:
    assert all(remote.handles(url) for url in ("hf://datasets/a/b", "s3://b/k", "https://x/y", "HTTP://x/y",
                                               "memory://x"))
    assert not any(remote.handles(path) for path in ("gs://bucket/x.jsonl", "/data/x.jsonl", "x.jsonl"))


def test_parse_hub_url_and_data_files() -> None:
    hub = remote.parse_hub_url("hf://datasets/allenai/c4@refs/convert/parquet/en/*.parquet")
    assert (hub.repo_type, hub.repo_id, hub.revision, hub.path_in_repo) == (
        "dataset", "allenai/c4", "refs/convert/parquet", "en/*.parquet")
    assert remote.is_bare_hub_dataset("hf://datasets/allenai/c4")
    assert remote.is_bare_hub_dataset("hf://datasets/allenai/c4@main")
    assert not remote.is_bare_hub_dataset("hf://datasets/allenai/c4/en/x.json.gz")
    assert remote.apply_hf_data_files(["hf://datasets/allenai/c4@v1", "local.jsonl"],
                                      "en/c4-train.0000*-of-01024.json.gz, en/c4-validation.00000-of-00008.json.gz") == [
        "hf://datasets/allenai/c4@v1/en/c4-train.0000*-of-01024.json.gz",
        "hf://datasets/allenai/c4@v1/en/c4-validation.00000-of-00008.json.gz", "local.jsonl"]
    assert remote.apply_hf_data_files(["x.jsonl"], None) == ["x.jsonl"]
    with pytest.raises(UsageError, match="--hf-data-files needs"):
        remote.apply_hf_data_files(["x.jsonl"], "*.json.gz")
    with pytest.raises(InputError, match="not a Hugging Face Hub path"):
        remote.parse_hub_url("hf://")


def test_add_arguments() -> None:
    parser = argparse.ArgumentParser()
    remote.add_arguments(parser)
    assert parser.parse_args(["--hf-data-files", "en/*.json.gz"]).hf_data_files == "en/*.json.gz"
    assert parser.parse_args([]).hf_data_files is None


def test_hub_dataset_offline_is_one_line_naming_it(monkeypatch) -> None:
    # conftest sets HF_HUB_OFFLINE=1: the Hub is never reached from the tests.
    with pytest.raises(InputError) as caught:
        remote.expand("hf://datasets/allenai/c4/en/c4-train.0000*-of-01024.json.gz")
    message = str(caught.value)
    assert "Hugging Face dataset allenai/c4" in message and "\n" not in message
    assert run_audit("hf://datasets/allenai/c4", "--output", "/nonexistent/never-written") == 2


def test_s3_without_s3fs_gives_the_install_hint() -> None:
    try:
        import s3fs  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match=r"s3:// inputs need s3fs: pip install 'corpus-audit\[s3\]'"):
            remote.expand("s3://bucket/corpus/*.jsonl")
    else:
        pytest.skip("s3fs is installed: the hint is not shown")


# -- memory:// -------------------------------------------------------------------------------------


def test_memory_expand_sizes_and_streaming_lines() -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe("memory://corpus-test/x/a.jsonl", _lines(2))
    fs.pipe("memory://corpus-test/x/deep/b.jsonl", _lines(3))
    try:
        everything = remote.expand("memory://corpus-test/x")
        assert [(Path(item.path).name, item.size) for item in everything] == [
            ("a.jsonl", len(_lines(2))), ("b.jsonl", len(_lines(3)))]
        assert [item.path for item in remote.expand("memory://corpus-test/x/**/b.jsonl")] == [everything[1].path]
        assert remote.expand("memory://corpus-test/x/a.jsonl") == everything[:1]
        with remote.open_binary(everything[1].path) as f:
            assert f.readline(10) == _lines(3)[:10]  # bounded readline, as the JSONL reader uses
            assert f.read() == _lines(3)[10:]
        assert remote.expand("memory://corpus-test/nothing-*/x") == []
    finally:
        fs.rm("/corpus-test", recursive=True)


def test_memory_run_reads_like_local_files(tmp_path) -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe("memory://corpus-run/a.jsonl", _lines(3, "a") + b"not json\n")
    with fs.open("memory://corpus-run/part/b.jsonl.gz", "wb") as f:
        f.write(gzip.compress(_lines(2, "b"), mtime=0))
    try:
        assert run_audit("memory://corpus-run", "--output", tmp_path / "out", "--stages", "langid") == 0
    finally:
        fs.rm("/corpus-run", recursive=True)
    summary = read_summary(tmp_path / "out")
    assert (summary["documents_read"], summary["documents_analysed"]) == (6, 5)
    assert summary["documents_skipped"] == {"malformed_json": 1}
    assert [row["id"] for row in read_documents(tmp_path / "out")] == ["a0", "a1", "a2", "b0", "b1"]


# -- http:// with range requests -------------------------------------------------------------------


def test_http_index_page_glob_and_run(web, tmp_path) -> None:
    files = remote.expand(web.url + "/")
    root = tmp_path / "www"
    assert [(item.path.removeprefix(web.url), item.size) for item in files] == [
        (f"/{name}", (root / name).stat().st_size) for name in ("a.jsonl", "sub/b.jsonl.gz", "sub/notes.md")]
    assert [item.path for item in remote.expand(web.url + "/sub/*.gz")] == [web.url + "/sub/b.jsonl.gz"]
    assert run_audit(web.url + "/", "--output", tmp_path / "out", "--stages", "langid") == 0
    summary = read_summary(tmp_path / "out")
    assert (summary["documents_read"], summary["documents_analysed"]) == (7, 7)
    assert summary["ignored_files"] == [web.url + "/sub/notes.md"]
    assert [row["id"] for row in read_documents(tmp_path / "out")] == [*(f"a{i}" for i in range(3)),
                                                                      *(f"b{i}" for i in range(4))]
    reads = [entry for entry in web.requests if entry[0] == "GET" and entry[1].endswith((".jsonl", ".gz"))]
    assert reads and all(entry[2] and entry[2].startswith("bytes=") for entry in reads)


def test_http_streams_by_range_not_whole_file(web, tmp_path) -> None:
    big = tmp_path / "www" / "big.jsonl"
    big.write_bytes(_lines(20_000))  # about 2 MB
    web.requests.clear()
    with remote.open_binary(web.url + "/big.jsonl", block_size=64 * 1024) as f:
        first = f.readline()
    assert json.loads(first)["id"] == "d0"
    served = 0
    for method, _, requested in web.requests:
        if method == "GET" and requested:
            start, stop = map(int, requested.removeprefix("bytes=").split("-"))
            served += stop - start + 1
    assert 0 < served < big.stat().st_size / 4, served


def test_http_missing_file_is_one_line(web, tmp_path, capsys) -> None:
    assert remote.expand(web.url + "/nope.jsonl") == []
    assert run_audit(web.url + "/nope.jsonl", "--output", tmp_path / "out") == 2
    assert capsys.readouterr().err.strip() == f"corpus-audit: error: no input matched '{web.url}/nope.jsonl'"


# -- the Hub, by name, through HF_ENDPOINT ---------------------------------------------------------


def _hub_env(hub: "_Server") -> dict[str, str]:
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1",
           "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("HF_TOKEN", None)
    return env


def test_hub_glob_and_read_through_the_stand_in(hub) -> None:
    code = ("import json; from corpus_audit import remote; "
            f"files = remote.expand('hf://datasets/org/c4mini/en/c4-train.0000[01]-of-01024{C4_SUFFIX}'); "
            "import gzip; first = gzip.GzipFile(fileobj=remote.open_binary(files[1].path)).readline(); "
            "print(json.dumps([[f.path, f.size] for f in files] + [json.loads(first)['id']]))")
    out = subprocess.run([sys.executable, "-c", code], env=_hub_env(hub), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    *files, first_id = json.loads(out.stdout.strip().splitlines()[-1])
    assert [path for path, _ in files] == [f"hf://datasets/org/c4mini/en/c4-train.0000{i}-of-01024{C4_SUFFIX}"
                                           for i in (0, 1)]
    assert all(size > 0 for _, size in files) and first_id == "s1-0"
    assert any(path.startswith("/api/datasets/org/c4mini/tree/") for _, path, _ in hub.requests)
    assert any(path.endswith(f"/resolve/main/en/c4-train.00001-of-01024{C4_SUFFIX}") and requested
               for _, path, requested in hub.requests)


def test_hub_dataset_by_name_runs_as_shards(hub, tmp_path) -> None:
    inputs = remote.apply_hf_data_files(["hf://datasets/org/c4mini"], f"en/c4-train.0000*-of-01024{C4_SUFFIX}")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "corpus_audit", "run", *inputs, "--output", str(out),
                          "--stages", "langid", "--quiet"], env=_hub_env(hub), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    summary = read_summary(out)
    assert (summary["input_files"], summary["documents_read"], summary["documents_analysed"]) == (3, 15, 15)
    assert sorted({row["shard"] for row in read_documents(out)}) == [
        f"hf://datasets/org/c4mini/en/c4-train.0000{i}-of-01024{C4_SUFFIX}" for i in range(3)]
    # The bare dataset (no --hf-data-files): every file listed, README.md reported as ignored.
    whole = subprocess.run([sys.executable, "-m", "corpus_audit", "run", "hf://datasets/org/c4mini", "--output",
                            str(tmp_path / "whole"), "--stages", "langid", "--quiet"], env=_hub_env(hub),
                           capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr
    assert read_summary(tmp_path / "whole")["ignored_files"] == ["hf://datasets/org/c4mini/README.md"]
    missing = subprocess.run([sys.executable, "-m", "corpus_audit", "run", "hf://datasets/org/absent/*.jsonl",
                              "--output", str(tmp_path / "absent")], env=_hub_env(hub), capture_output=True,
                             text=True, timeout=300)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1].startswith(
        "corpus-audit: error: cannot list Hugging Face dataset org/absent")
