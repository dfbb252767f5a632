"""Deadlines on remote reads (issue 28, item 5), against an HTTP server on 127.0.0.1 that
stalls before its headers, stalls in the middle of a body, answers 503 once, or 404s one link
of its index page. Small deadlines (``--remote-timeout 0.5``) keep every test to seconds:
each asserts the run ends within a bound, what was skipped and why, that the complete records
read before a stall are kept, and that ``read == analysed + skipped``."""

from __future__ import annotations

import argparse
import http.server
import json
import re
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SENTENCES, read_summary, run_audit
from corpus_audit import remote
from corpus_audit.documents import ReadAccounting, ShardSplit
from corpus_audit.engine.progress import Progress, Snapshot, format_line, ProgressTotals, read_worker_files
from corpus_audit.errors import UsageError
from corpus_audit.readers import FORMAT_JSONL, ReadConfig, read_split

FAST = ("--remote-timeout", "0.5", "--remote-connect-timeout", "2", "--remote-tries", "2")
#: A run with two stalls of FAST deadlines takes a few seconds; far below a 30 s hang.
BOUND_SECONDS = 20.0


def _lines(n: int, prefix: str) -> bytes:
    return b"".join(json.dumps({"id": f"{prefix}{i}", "text": SENTENCES["en"]}).encode() + b"\n" for i in range(n))


class _Stalling(http.server.BaseHTTPRequestHandler):
    """Files from ``files`` (path → bytes) with Range support; ``stall_at`` (path → byte) stops
    sending there and waits (``stall_at`` 0 and a GET: nothing, not even the headers);
    ``missing``: 404; ``flaky``: a 503 before the first good answer; ``index``: an index page."""

    protocol_version = "HTTP/1.1"
    files: dict[str, bytes] = {}
    stall_at: dict[str, int] = {}
    missing: set[str] = set()
    flaky: set[str] = set()
    index: dict[str, list[str]] = {}
    shifted: set[str] = set()
    #: path → what each GET does in turn: ("ok",), ("503",), ("close", k) or ("stall", k) after k bytes.
    scripts: dict[str, list[tuple]] = {}
    log: list[tuple[str, str, str | None]] = []
    release = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def _serve(self, send_body: bool) -> None:
        path = self.path
        self.log.append((self.command, path, self.headers.get("Range")))
        if path in self.index:
            return self._index(path, send_body)
        if path in self.missing or path not in self.files:
            return self._answer(404, b"not found", send_body)
        if path in self.flaky:
            self.flaky.discard(path)
            return self._answer(503, b"busy", send_body)
        action = self.scripts[path].pop(0) if send_body and self.scripts.get(path) else ("ok",)
        if action[0] == "503":
            return self._answer(503, b"busy", send_body)
        data, start = self.files[path], 0
        requested = re.fullmatch(r"bytes=(\d+)-(\d*)", (self.headers.get("Range") or "").strip())
        stop = len(data) - 1
        if requested:
            start, stop = int(requested[1]), min(int(requested[2] or stop), stop)
            start += path in self.shifted  # a server answering (and saying so) other bytes than asked
        cut = self.stall_at.get(path)
        if action[0] in ("close", "stall"):
            cut = start + action[1]
        if send_body and cut == 0:
            self.release.wait(30)  # before the headers
            return
        self.send_response(206 if requested else 200)
        self.send_header("Content-Length", str(stop - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if requested:
            self.send_header("Content-Range", f"bytes {start}-{stop}/{len(data)}")
        self.end_headers()
        if not send_body:
            return
        if cut is None:
            self.wfile.write(data[start:stop + 1])
            return
        self.wfile.write(data[start:max(start, min(cut, stop + 1))])
        self.wfile.flush()
        if action[0] != "close":
            self.release.wait(30)  # in the middle of the body
        self.close_connection = True

    def _index(self, path: str, send_body: bool) -> None:
        if self.stall_at.get(path) == 0:
            self.release.wait(30)
            return
        links = "".join(f'<a href="{name}">{name}</a>\n' for name in self.index[path])
        self._answer(200, f"<html><body>{links}</body></html>".encode(), send_body, "text/html")

    def _answer(self, code: int, body: bytes, send_body: bool, kind: str = "text/plain") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


@pytest.fixture
def server():
    class Handler(_Stalling):
        files: dict[str, bytes] = {}
        stall_at: dict[str, int] = {}
        missing: set[str] = set()
        flaky: set[str] = set()
        index: dict[str, list[str]] = {}
        shifted: set[str] = set()
        scripts: dict[str, list[tuple]] = {}
        log: list = []
        release = threading.Event()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Handler.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield Handler
    Handler.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _default_deadlines():
    yield
    remote.configure()  # what a test's run configured does not reach the next test
    remote.set_wait_listener(None)


def _timed_run(*args: object) -> tuple[int, float]:
    began = time.monotonic()
    code = run_audit(*args, "--stages", "langid", *FAST)
    return code, time.monotonic() - began


def _counts(summary: dict) -> tuple[int, int, dict]:
    assert summary["documents_read"] == summary["documents_analysed"] + sum(summary["documents_skipped"].values())
    return summary["documents_read"], summary["documents_analysed"], summary["documents_skipped"]


# -- runs --------------------------------------------------------------------------------------------


def test_stall_mid_body_keeps_the_complete_records(server, tmp_path) -> None:
    data = _lines(6, "m")
    cut = len(_lines(4, "m")) + 10  # four whole lines, then part of the fifth
    server.files.update({"/mid.jsonl": data, "/ok.jsonl": _lines(3, "k")})
    server.stall_at["/mid.jsonl"] = cut
    code, seconds = _timed_run(server.url + "/mid.jsonl", server.url + "/ok.jsonl", "--output", tmp_path / "out")
    assert code == 0 and seconds < BOUND_SECONDS
    summary = read_summary(tmp_path / "out")
    assert _counts(summary) == (4 + 1 + 3, 4 + 3, {remote.SKIP_REMOTE_READ_TIMEOUT: 1})
    # The second try asked for the rest from the byte reached, not the file again.
    gets = [entry[2] for entry in server.log if entry[:2] == ("GET", "/mid.jsonl")]
    assert gets[-1].startswith(f"bytes={cut}-")


def test_stall_before_headers_is_a_counted_skip(server, tmp_path) -> None:
    server.index["/h/"] = ["head.jsonl", "ok.jsonl"]  # listed (HEAD answers), then the GET stalls
    server.files.update({"/h/head.jsonl": _lines(5, "h"), "/h/ok.jsonl": _lines(3, "k")})
    server.stall_at["/h/head.jsonl"] = 0
    code, seconds = _timed_run(server.url + "/h/", "--output", tmp_path / "out")
    assert code == 0 and seconds < BOUND_SECONDS
    assert _counts(read_summary(tmp_path / "out")) == (4, 3, {remote.SKIP_REMOTE_READ_TIMEOUT: 1})


@pytest.mark.parametrize("path", ["/slow/", "/slow.jsonl"])
def test_listing_stall_is_an_error_within_the_deadline(server, tmp_path, capsys, path: str) -> None:
    server.index["/slow/"] = ["a.jsonl"]
    server.files["/slow.jsonl"] = _lines(2, "s")
    server.stall_at.update({"/slow/": 0, "/slow.jsonl": 0})
    code, seconds = _timed_run(server.url + path, "--output", tmp_path / "out")
    assert code == 2 and seconds < BOUND_SECONDS
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("corpus-audit: error: cannot list input") and "--remote-timeout" in error


def test_dead_link_on_an_index_page_is_one_skip(server, tmp_path) -> None:
    server.index["/www/"] = ["a.jsonl", "gone.jsonl", "b.jsonl"]
    server.files.update({"/www/a.jsonl": _lines(2, "a"), "/www/b.jsonl": _lines(3, "b")})
    server.missing.add("/www/gone.jsonl")
    # --workers 1: a file of unknown size makes auto fork workers, slow on a loaded machine.
    code, seconds = _timed_run(server.url + "/www/", "--output", tmp_path / "out", "--workers", "1")
    assert code == 0 and seconds < BOUND_SECONDS
    summary = read_summary(tmp_path / "out")
    assert summary["input_files"] == 3
    assert _counts(summary) == (6, 5, {"unreadable_file": 1})
    # The read's 404 (a GET with a Range) is not tried again.
    assert len([entry for entry in server.log if entry[:2] == ("GET", "/www/gone.jsonl") and entry[2]]) == 1


def test_5xx_is_tried_again(server, tmp_path) -> None:
    server.files["/flaky.jsonl"] = _lines(3, "f")
    server.flaky.add("/flaky.jsonl")
    code, _ = _timed_run(server.url + "/flaky.jsonl", "--output", tmp_path / "out")
    assert code == 0
    assert _counts(read_summary(tmp_path / "out")) == (3, 3, {})


def test_http_inputs_stay_on_the_local_engine(server, tmp_path) -> None:
    server.index["/two/"] = ["a.jsonl", "b.jsonl"]
    server.files.update({"/two/a.jsonl": _lines(2, "a"), "/two/b.jsonl": _lines(2, "b")})
    assert run_audit(server.url + "/two/", "--output", tmp_path / "out", "--stages", "langid") == 0
    settings_ = read_summary(tmp_path / "out")["settings"]
    assert settings_["runner"] == "local", settings_
    assert "MB of input (estimated)" in settings_["workers_rule"]


def test_a_range_answer_for_other_bytes_is_refused(server, tmp_path) -> None:
    server.files.update({"/shifted.jsonl": _lines(3, "x"), "/ok.jsonl": _lines(2, "k")})
    server.shifted.add("/shifted.jsonl")
    code, _ = _timed_run(server.url + "/shifted.jsonl", server.url + "/ok.jsonl", "--output", tmp_path / "out")
    assert code == 0
    assert _counts(read_summary(tmp_path / "out")) == (3, 2, {"unreadable_file": 1})


# -- the stall invariant, at any byte ----------------------------------------------------------------


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.integers(1, 6), fraction=st.floats(0.0, 0.999))
def test_a_stall_at_any_byte_keeps_every_complete_line(server, lines: int, fraction: float) -> None:
    data = _lines(lines, "s")
    cut = int(len(data) * fraction)
    path = f"/any-{lines}-{cut}.jsonl"
    server.files[path], server.stall_at[path] = data, cut
    remote.configure(read=0.2, tries=1)
    accounting = ReadAccounting()
    items = list(read_split(ShardSplit(server.url + path, FORMAT_JSONL), ReadConfig(), accounting))
    complete = data[:cut].count(b"\n")
    analysed = sum(len(item) for item in items if not hasattr(item, "reason"))
    assert analysed == complete
    assert accounting.documents_skipped == {remote.SKIP_REMOTE_READ_TIMEOUT: 1}
    assert accounting.documents_read == complete + 1


_ACTIONS = st.one_of(st.just(("ok",)), st.just(("503",)), st.tuples(st.just("close"), st.integers(0, 400)),
                     st.tuples(st.just("stall"), st.integers(0, 400)))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(_ACTIONS, max_size=4), block=st.integers(64, 600))
def test_any_failing_server_loses_no_record_and_repeats_none(server, script: list, block: int) -> None:
    """Whatever each request meets (5xx, a connection closed or stalled after k bytes), the
    records read are the file's first m, each once, in order; the rest is at most one skip."""
    data = _lines(8, "r")
    path = f"/script-{len(server.scripts)}.jsonl"
    server.files[path], server.scripts[path] = data, list(script)
    remote.configure(read=0.2, tries=2, backoff=0.01)
    accounting = ReadAccounting()
    split = ShardSplit(server.url + path, FORMAT_JSONL)
    with_blocks = remote.open_binary  # a small block size: many range requests, each one a chance to fail
    items = []
    try:
        remote.open_binary = lambda url, block_size=block: with_blocks(url, block_size)
        items = list(read_split(split, ReadConfig(), accounting))
    finally:
        remote.open_binary = with_blocks
    ids = [doc_id for item in items if not hasattr(item, "reason") for doc_id in item.ids]
    assert ids == [f"r{i}" for i in range(len(ids))]
    skipped = sum(accounting.documents_skipped.values())
    assert skipped <= 1 and accounting.documents_read == len(ids) + skipped
    if sum(action != ("ok",) for action in script) < 2:  # one failure: the second try of that read succeeds
        assert len(ids) == 8 and skipped == 0, accounting.documents_skipped


# -- what the progress line says ---------------------------------------------------------------------


def test_a_blocked_read_is_told_and_listed(server) -> None:
    server.files["/wait.jsonl"] = _lines(2, "w")
    server.stall_at["/wait.jsonl"] = 0
    remote.configure(read=1.5, tries=1)
    heard: list[tuple[str | None, float, list]] = []
    remote.set_wait_listener(lambda host, seconds: heard.append((host, seconds, remote.blocked_reads())))
    with pytest.raises(remote.RemoteTimeout) as caught, remote.open_binary(server.url + "/wait.jsonl") as f:
        f.read(10)
    host = server.url.removeprefix("http://")
    assert caught.value.host == host and "--remote-timeout" in str(caught.value)
    assert heard[0][0] == host and heard[0][1] >= 1.0 and heard[0][2][0][0] == host
    assert heard[-1][:2] == (None, 0.0) and remote.blocked_reads() == []


def test_progress_line_names_the_host_waited_for(tmp_path) -> None:
    progress = Progress(directory=str(tmp_path))
    progress.waited("data.example.org", 4.4)
    progress.flush()
    snapshot = read_worker_files(str(tmp_path))
    assert snapshot.waiting == [("data.example.org", 4.4)]
    line = format_line(snapshot, ProgressTotals({"x": 10}), elapsed=5.0)
    assert line.endswith("; waiting for data.example.org (4 s)")
    assert "waiting" not in format_line(Snapshot(waiting=[("h", 2.0)]), ProgressTotals({}), 5.0)
    assert "waiting" not in format_line(snapshot, ProgressTotals({}), 5.0, final=True)
    progress.waited(None, 0.0)
    assert read_worker_files(str(tmp_path)).waiting == []


# -- settings ----------------------------------------------------------------------------------------


def test_deadline_options_and_environment(monkeypatch) -> None:
    for name in (remote.TIMEOUT_ENV, remote.CONNECT_TIMEOUT_ENV, remote.TRIES_ENV):
        monkeypatch.delenv(name, raising=False)
    parser = argparse.ArgumentParser()
    remote.add_arguments(parser)
    assert remote.configure(parser.parse_args([])) == remote.Deadlines()
    monkeypatch.setenv(remote.TIMEOUT_ENV, "7")
    monkeypatch.setenv(remote.TRIES_ENV, "5")
    assert remote.configure(parser.parse_args([])) == remote.Deadlines(read=7.0, tries=5)
    given_ = remote.configure(parser.parse_args(["--remote-timeout", "2.5", "--remote-connect-timeout", "1"]))
    assert given_ == remote.Deadlines(connect=1.0, read=2.5, tries=5)
    assert list(remote.Deadlines(tries=4, backoff=0.5).pauses()) == [0.0, 0.5, 1.0, 2.0]
    for bad in (["--remote-timeout", "0"], ["--remote-tries", "x"], ["--remote-connect-timeout", "-1"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    monkeypatch.setenv(remote.TIMEOUT_ENV, "soon")
    with pytest.raises(UsageError, match=remote.TIMEOUT_ENV):
        remote.configure(parser.parse_args([]))


def test_hub_client_timeouts_follow_the_deadlines(monkeypatch) -> None:
    from huggingface_hub import constants

    for name in ("HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.setattr(constants, name, getattr(constants, name))  # restored after the test
    import huggingface_hub

    remote.configure(read=3.5, connect=1.5)
    remote.filesystem("hf://datasets/org/name")
    assert constants.HF_HUB_ETAG_TIMEOUT == constants.HF_HUB_DOWNLOAD_TIMEOUT == 3.5
    timeout = huggingface_hub.get_session().timeout  # the client the Hub API's listings go through
    assert (timeout.read, timeout.connect) == (3.5, 1.5)
    remote.configure()
    remote.filesystem("hf://datasets/org/name")
    assert huggingface_hub.get_session().timeout.read == remote.Deadlines().read


def test_run_progress_line_says_waiting_for_the_host(server) -> None:
    import io as _io

    from corpus_audit.engine.progress import WAIT_SHOWN_SECONDS, RunProgress

    server.files["/slow-read.jsonl"] = _lines(2, "w")
    server.stall_at["/slow-read.jsonl"] = 0
    remote.configure(read=WAIT_SHOWN_SECONDS + 0.6, tries=1)
    stream = _io.StringIO()
    with RunProgress(ProgressTotals({}), stream=stream, tty=False, poll_seconds=0.1, every_seconds=0.0) as progress:
        with pytest.raises(remote.RemoteTimeout), remote.open_binary(server.url + "/slow-read.jsonl") as f:
            f.read(10)  # blocked in this thread: the polling thread sees it in blocked_reads
    host = server.url.removeprefix("http://")
    assert any(line.endswith(f"; waiting for {host} (3 s)") for line in progress.lines), progress.lines
    assert "waiting" not in progress.lines[-1]


def test_connection_refused_is_tried_then_one_skip() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    remote.configure(connect=1.0, read=1.0, tries=2)
    accounting = ReadAccounting()
    began = time.monotonic()
    items = list(read_split(ShardSplit(f"http://127.0.0.1:{port}/x.jsonl", FORMAT_JSONL), ReadConfig(), accounting))
    assert time.monotonic() - began < 10
    assert accounting.documents_skipped == {"unreadable_file": 1} and accounting.documents_read == 1
    assert "2 tries" in items[0].detail and "ConnectionRefusedError" in items[0].detail


def test_credentials_in_the_url_are_sent(server) -> None:
    server.files["/private.jsonl"] = _lines(1, "p")
    url = server.url.replace("http://", "http://reader:s%40cret@") + "/private.jsonl"
    with remote.open_binary(url) as f:
        assert f.read() == _lines(1, "p")
    assert remote._credentials(url) == {"Authorization": "Basic cmVhZGVyOnNAY3JldA=="}  # noqa: SLF001


def test_run_options_carry_the_deadlines(monkeypatch) -> None:
    from corpus_audit.cli import build_parser

    for name in (remote.TIMEOUT_ENV, remote.CONNECT_TIMEOUT_ENV, remote.TRIES_ENV):
        monkeypatch.delenv(name, raising=False)
    from corpus_audit.cli.run_options import RunOptions

    args, _ = build_parser().parse_known_args(["run", "in.jsonl", "--output", "out", "--remote-timeout", "2",
                                               "--remote-connect-timeout", "3", "--remote-tries", "4"])
    options = RunOptions.from_namespace(args)
    assert remote.configure(options) == remote.Deadlines(connect=3.0, read=2.0, tries=4)
    assert remote.configure(RunOptions.from_namespace(build_parser().parse_known_args(
        ["run", "in.jsonl", "--output", "out"])[0])) == remote.Deadlines()


def test_a_request_target_is_ascii_whatever_the_url_holds() -> None:
    """A URL with non-ASCII characters or spaces in its path (from an index page, say) is sent
    percent-encoded; escapes already there are kept (the request line is ASCII)."""
    from corpus_audit.remote import Deadlines, _connection

    _, target = _connection("http://127.0.0.1:9/d/caf\u00e9 \u6587/x%2e.jsonl?a=1&b=\u00fc", Deadlines())
    assert target == "/d/caf%C3%A9%20%E6%96%87/x%2e.jsonl?a=1&b=%C3%BC"
    target.encode("ascii")
