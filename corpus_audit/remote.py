"""Inputs beyond ``gs://``: ``hf://``, ``s3://``, ``http(s)://`` and ``memory://`` through fsspec.

``gs://`` (and every other scheme Beam's ``FileSystems`` knows) stays on Beam, which Dataflow
workers use natively; the schemes in `FSSPEC_SCHEMES` go through fsspec instead:

* ``hf://datasets/ORG/NAME[@REV]/GLOB`` — huggingface_hub's ``HfFileSystem`` (its Hub API:
  tree listing for globs, ``resolve/`` with range requests for reads);
* ``s3://BUCKET/KEY`` — s3fs (optional: ``pip install 'corpus-audit[s3]'``);
* ``https://`` / ``http://`` — fsspec's ``HTTPFileSystem`` (range requests when the server
  gives a size and accepts them, a plain stream otherwise);
* ``memory://`` — fsspec's in-process filesystem (tests, notebooks).

Three operations: `handles` (does fsspec read this path?), `expand` (a URL or glob → the
files with their sizes) and `open_binary` (a file as a binary stream read block by block —
never the whole dataset, nor even the whole file, before the first record).
A bare Hub dataset (``hf://datasets/allenai/c4``) is listed whole, or narrowed to data files by
``--hf-data-files`` (`add_arguments`, `apply_hf_data_files`).

Every remote operation has deadlines (`Deadlines`: connect 10 s, read 30 s, 3 tries with backoff;
``--remote-timeout``, ``--remote-connect-timeout``, ``--remote-tries`` or the ``CORPUS_AUDIT_REMOTE_*``
variables). http(s) files are read by `_HttpFile`, a small client that streams each range, so a
server that stalls mid-file costs ``tries`` deadlines, not minutes, and the bytes (records)
received before the stall are kept: the reader counts the rest as one `SKIP_REMOTE_READ_TIMEOUT`
skip. HTTP listings go through fsspec's asynchronous ``HTTPFileSystem`` under aiohttp timeouts
and a retrying middleware, in a private event loop (no thread is left behind, so the in-process
engine can still fork); a dead link on an index page is listed without a size and counted as a
skip when read. The Hub's client and s3fs get the same timeouts. A read waiting for its server
is in `blocked_reads` and, about once a second, told to the `set_wait_listener` listener (the
progress line's "waiting for HOST (N s)").
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, Callable, Iterator

from corpus_audit.errors import InputError, UsageError

__all__ = ["BLOCK_SIZE", "FSSPEC_SCHEMES", "SKIP_REMOTE_READ_TIMEOUT", "Deadlines", "HubPath", "RemoteFile",
           "RemoteTimeout", "add_arguments", "apply_hf_data_files", "blocked_reads", "configure", "deadlines",
           "expand", "filesystem", "handles", "is_bare_hub_dataset", "known_size", "open_binary", "open_input",
           "parse_hub_url", "remote_help", "scheme", "set_wait_listener"]

#: Schemes read through fsspec (every other URL goes through Beam's ``FileSystems``).
FSSPEC_SCHEMES = ("hf", "s3", "http", "https", "memory")
#: Bytes fetched per range request / read-ahead block while streaming a remote file.
BLOCK_SIZE = 8 << 20
_GLOB_CHARS = set("*?[")
#: The package each scheme needs, and how to get it, for the one-line hint when it is missing.
_EXTRAS = {"s3": ("s3fs", "pip install 'corpus-audit[s3]' (or pip install s3fs)"),
           "hf": ("huggingface_hub", "pip install huggingface_hub"),
           "http": ("aiohttp", "pip install aiohttp"), "https": ("aiohttp", "pip install aiohttp")}


@dataclass(frozen=True)
class RemoteFile:
    """One remote file: its full URL and size in bytes (None when the server does not say)."""

    path: str
    size: int | None


# -- deadlines -------------------------------------------------------------------------------------

#: The skip reason of a file whose server stopped sending (after every try): the records read
#: before the stall are kept, the partial record it cut counts as this one skip.
SKIP_REMOTE_READ_TIMEOUT = "remote_read_timeout"
#: Environment variables read when no option sets the deadlines (Beam's worker processes read them too).
TIMEOUT_ENV = "CORPUS_AUDIT_REMOTE_TIMEOUT"
CONNECT_TIMEOUT_ENV = "CORPUS_AUDIT_REMOTE_CONNECT_TIMEOUT"
TRIES_ENV = "CORPUS_AUDIT_REMOTE_TRIES"


@dataclass(frozen=True)
class Deadlines:
    """Limits on every remote operation (listing, each read, Hub API calls).

    ``connect``: seconds to open a connection; ``read``: seconds a server may send nothing
    (before the headers or in the middle of a body); ``tries``: attempts per request for a
    connection error, a 5xx/429 answer or a stall, ``backoff`` seconds before the second and
    doubled before each next one."""

    connect: float = 10.0
    read: float = 30.0
    tries: int = 3
    backoff: float = 0.5

    def pauses(self) -> Iterator[float]:
        """The wait before each try: 0, then ``backoff``, doubling (``tries`` values)."""
        for attempt in range(self.tries):
            yield 0.0 if attempt == 0 else self.backoff * 2 ** (attempt - 1)


class RemoteTimeout(TimeoutError):
    """A server sent nothing for the read deadline, on every try (``host`` names it)."""

    def __init__(self, host: str, message: str) -> None:
        super().__init__(message)
        self.host = host


_configured: Deadlines | None = None


def _env_number(name: str, default: float, cast: Callable[[str], float] = float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r}: expected a number") from None
    if value <= 0:
        raise UsageError(f"{name}={raw!r}: must be > 0")
    return value


def _env_deadlines() -> Deadlines:
    """`Deadlines` from the environment variables (the documented defaults where unset)."""
    base = Deadlines()
    return Deadlines(connect=_env_number(CONNECT_TIMEOUT_ENV, base.connect), read=_env_number(TIMEOUT_ENV, base.read),
                     tries=int(_env_number(TRIES_ENV, base.tries, int)))


def deadlines() -> Deadlines:
    """The deadlines in force: `configure`'s, else the environment's, else the defaults."""
    return _configured if _configured is not None else _env_deadlines()


def configure(args: argparse.Namespace | None = None, **values: float) -> Deadlines:
    """Set the deadlines of this process (and of the worker processes it forks) from
    ``corpus-audit run``'s options (`add_arguments`; an option not given keeps the
    environment's value) or from keywords (``configure(read=1.0)``); None resets to the environment."""
    global _configured
    if args is None and not values:
        _configured = None
        return deadlines()
    given = {"connect": getattr(args, "remote_connect_timeout", None), "read": getattr(args, "remote_timeout", None),
             "tries": getattr(args, "remote_tries", None), **values}
    _configured = replace(_env_deadlines(), **{key: value for key, value in given.items() if value is not None})
    return _configured


def _positive(cast: Callable[[str], float]) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = cast(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {raw!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {raw!r}")
        return value

    return parse


# -- reads in flight (what the progress line shows while one is blocked) ---------------------------

_blocked: dict[int, tuple[str, float]] = {}
_blocked_lock = threading.Lock()
_wait_listener: list[Callable[[str | None, float], None]] = []


def set_wait_listener(listener: Callable[[str | None, float], None] | None) -> None:
    """Call ``listener(host, seconds)`` about once a second while a remote read of this process
    waits for its server, and ``listener(None, 0)`` when it has data again (one listener: the
    worker's progress, which writes it to its progress file)."""
    _wait_listener[:] = [] if listener is None else [listener]


def blocked_reads() -> list[tuple[str, float]]:
    """``(host, seconds)`` of each remote read of this process waiting for its server now."""
    now = time.monotonic()
    with _blocked_lock:
        return sorted((host, now - since) for host, since in _blocked.values())


class _Waiting:
    """Marks one blocking remote operation: in `blocked_reads` from its start until it ends."""

    def __init__(self, host: str, since: float | None = None) -> None:
        self.host = host
        self.since = time.monotonic() if since is None else since
        self.told = False

    def __enter__(self) -> "_Waiting":
        with _blocked_lock:
            _blocked[id(self)] = (self.host, self.since)
        return self

    def tick(self) -> float:
        """Seconds waited so far; the listener hears of it."""
        seconds = time.monotonic() - self.since
        for listener in list(_wait_listener):
            listener(self.host, seconds)
        self.told = True
        return seconds

    def __exit__(self, *exc: Any) -> None:
        with _blocked_lock:
            _blocked.pop(id(self), None)
        if self.told:
            for listener in list(_wait_listener):
                listener(None, 0.0)


def scheme(path: str) -> str:
    """The URL scheme of ``path`` (lower case), "" for a local path."""
    return path.split("://", 1)[0].lower() if "://" in path else ""


def handles(path: str) -> bool:
    """Whether ``path`` is read through fsspec (`FSSPEC_SCHEMES`) rather than Beam's filesystems."""
    return scheme(path) in FSSPEC_SCHEMES


def filesystem(path: str, **options: Any) -> Any:
    """The fsspec filesystem for ``path``'s scheme, its requests under `deadlines` (s3fs's
    ``config_kwargs``, the Hub client's timeouts); `InputError` (one line, with the install
    command) when the package it needs is missing."""
    import fsspec

    name = scheme(path)
    limits = deadlines()
    if name == "s3":
        options.setdefault("config_kwargs", {"connect_timeout": limits.connect, "read_timeout": limits.read,
                                             "retries": {"max_attempts": limits.tries, "mode": "standard"}})
    try:
        if name == "hf":
            _hub_timeouts(limits)
        return fsspec.filesystem(name, **options)
    except ImportError as exc:
        package, hint = _EXTRAS.get(name, (name, f"install the fsspec implementation for {name}://"))
        raise InputError(f"{name}:// inputs need {package}: {hint}") from exc


_hub_client_limits: list[Deadlines] = []  # the deadlines the Hub's HTTP client was last made with


def _hub_timeouts(limits: Deadlines) -> None:
    """huggingface_hub's metadata and download timeouts = the deadlines (unless its own
    ``HF_HUB_ETAG_TIMEOUT`` / ``HF_HUB_DOWNLOAD_TIMEOUT`` variables are set), and its shared
    HTTP client (which has no timeout of its own: the Hub API's tree listings) made with them."""
    from huggingface_hub import constants

    for name in ("HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT"):
        if name not in os.environ:
            setattr(constants, name, limits.read)
    if _hub_client_limits == [limits]:
        return
    try:
        import huggingface_hub
        from huggingface_hub.utils._http import default_client_factory
    except ImportError:  # another huggingface_hub: its own timeouts only
        return

    def client() -> Any:
        made = default_client_factory()
        made.timeout = type(made.timeout)(limits.read, connect=limits.connect)
        return made

    huggingface_hub.set_client_factory(client)
    _hub_client_limits[:] = [limits]


def _url(fs: Any, path: str) -> str:
    """fsspec's path for a file (protocol stripped by most filesystems) as one canonical URL."""
    return fs.unstrip_protocol(fs._strip_protocol(path))  # noqa: SLF001 - fsspec's own normaliser


#: Sizes of the files `expand` listed in this process (None: the server gives none).
_listed_sizes: dict[str, int | None] = {}


def known_size(path: str) -> int | None:
    """The size `expand` listed for ``path`` (None when unknown or not listed here)."""
    return _listed_sizes.get(path)


def listed(path: str) -> bool:
    """Whether `expand` listed ``path`` in this process (its `known_size` is then the listing's)."""
    return path in _listed_sizes


def expand(url: str) -> list[RemoteFile]:
    """The files a URL names, sorted: a glob (``**`` recursive), one file, or every file below a
    "directory" (a prefix, or a URL ending in ``/``; over HTTP, the links of its index page).
    Sizes come from the listing, or from one ``info`` call per file when it gives none; a file
    whose ``info`` fails (a dead link) is listed without a size, and its read counts the skip.
    Every request is under `deadlines`. `InputError` when it cannot be listed (one line: what and why)."""
    try:
        if scheme(url) in ("http", "https"):
            files = _in_new_loop(lambda: _http_entries(url, deadlines()))
        else:
            fs = filesystem(url)
            files = _sized(fs, _entries(fs, url))
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - errors vary by filesystem (HTTP, Hub, S3)
        what = f"Hugging Face dataset {_hub_name(url)}" if scheme(url) == "hf" else "input"
        raise InputError(f"cannot list {what} ({url}): {_describe(exc)}") from exc
    found = [RemoteFile(path, None if size is None else int(size)) for path, size in sorted(files.items())]
    _listed_sizes.update((item.path, item.size) for item in found)
    return found


def _entries(fs: Any, url: str) -> dict[str, int | None]:
    """``{URL: size or None}`` of the files ``url`` names (a synchronous fsspec filesystem)."""
    if _GLOB_CHARS & set(url):
        entries = list(fs.glob(url, detail=True).items())
    elif not url.endswith("/") and fs.isfile(url):
        entries = [(url, fs.info(url))]
    else:
        entries = list(fs.find(url, detail=True).items())
    return {_url(fs, path): info.get("size") for path, info in entries if info.get("type") != "directory"}


def _sized(fs: Any, files: dict[str, int | None]) -> dict[str, int | None]:
    """``files`` with each missing size asked of the server; one that fails stays unknown."""
    for path, size in files.items():
        if size is None:
            try:
                files[path] = fs.info(path).get("size")
            except Exception:  # noqa: BLE001 - a dead link: counted as a skip when it is read
                files[path] = None
    return files


async def _http_entries(url: str, limits: Deadlines) -> dict[str, int | None]:
    """`_entries` and `_sized` over HTTP, in a private event loop: fsspec's ``HTTPFileSystem``
    (asynchronous) with aiohttp's connect and read timeouts and a retrying middleware. No
    thread outlives the listing, so the in-process engine can still fork its workers."""
    import aiohttp
    import fsspec

    timeout = aiohttp.ClientTimeout(total=None, sock_connect=limits.connect, sock_read=limits.read)
    failures: list[BaseException] = []  # requests that failed every try (fsspec omits some from listings)
    fs = fsspec.filesystem(scheme(url), asynchronous=True, skip_instance_cache=True, use_listings_cache=False,
                           client_kwargs={"timeout": timeout, "middlewares": (_retry_middleware(limits, failures),)})
    session = await fs.set_session()
    try:
        if _GLOB_CHARS & set(url):
            entries = list((await fs._glob(url, detail=True)).items())  # noqa: SLF001 - fsspec's async API
        elif not url.endswith("/") and await fs._isfile(url):  # noqa: SLF001
            entries = [(url, await fs._info(url))]  # noqa: SLF001
        else:
            entries = list((await fs._find(url, detail=True)).items())  # noqa: SLF001
        files = {_url(fs, path): info.get("size") for path, info in entries if info.get("type") != "directory"}
        for path, size in files.items():
            if size is None:
                try:
                    files[path] = (await fs._info(path)).get("size")  # noqa: SLF001
                except Exception:  # noqa: BLE001 - a dead link: counted as a skip when it is read
                    files[path] = None
        if not files and failures:
            raise failures[-1]  # nothing listed because the server did not answer: say so
        return files
    finally:
        await session.close()


def _retry_middleware(limits: Deadlines, failures: list[BaseException]) -> Callable[..., Any]:
    """An aiohttp client middleware: a request that fails to connect, times out or answers
    5xx/429 is sent again after a pause (`Deadlines.pauses`), ``tries`` times in all; the
    error of one that failed every try is also appended to ``failures``."""
    import asyncio

    import aiohttp

    async def retrying(request: Any, handler: Callable[..., Any]) -> Any:
        failure: BaseException | None = None
        for attempt, pause in enumerate(limits.pauses()):
            if pause:
                await asyncio.sleep(pause)
            try:
                response = await handler(request)
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
                failure = exc
                continue
            if (response.status >= 500 or response.status == 429) and attempt + 1 < limits.tries:
                response.release()
                continue
            return response
        failures.append(failure if failure is not None else OSError("no try made"))
        raise failures[-1]

    return retrying


def _in_new_loop(make: Callable[[], Any]) -> Any:
    """Run the coroutine ``make()`` in a new event loop: here, or in a short-lived thread when
    this thread already runs one (a notebook)."""
    import asyncio  # here: most commands never list an http(s) input

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, asyncio.run(make())))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name="corpus-audit-listing")
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def _describe(exc: BaseException) -> str:
    """One line for a failed remote operation; a timeout says which deadline it ran past."""
    if isinstance(exc, RemoteTimeout):
        return str(exc)
    if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower():
        limits = deadlines()
        return (f"no answer within the deadlines (connect {limits.connect:g} s, --remote-connect-timeout; "
                f"read {limits.read:g} s, --remote-timeout; {limits.tries} tries)")
    return f"{type(exc).__name__}: {_first_line(exc)}"


def open_binary(path: str, block_size: int = BLOCK_SIZE) -> io.BufferedReader:
    """``path`` opened for binary reads (``readline(limit)``, ``seek`` for Parquet), fetched
    ``block_size`` bytes at a time: range requests over HTTP and the Hub, a plain stream when
    a server gives no size. Never more than a block or two of the file is held in memory.
    Every request is under `deadlines`; http(s):// through `_HttpFile` (the records before a
    stall are kept), the other schemes through fsspec with their clients' timeouts."""
    if scheme(path) in ("http", "https"):
        raw: io.RawIOBase = _HttpFile(path, known_size(path), block_size, deadlines())
        return io.BufferedReader(raw, buffer_size=min(block_size, 1 << 20))
    fs = filesystem(path)
    host = "" if scheme(path) == "memory" else _host(path)
    try:
        with _Waiting(host) if host else contextlib.nullcontext():
            handle = fs.open(path, "rb", block_size=block_size, cache_type="readahead")
    except TypeError:  # a filesystem without those keywords (memory://)
        handle = fs.open(path, "rb")
    except RemoteTimeout:
        raise
    except Exception as exc:  # noqa: BLE001 - errors vary by filesystem
        timeout = _as_timeout(host, path, exc)
        if timeout is not None:
            raise timeout from exc
        raise OSError(f"cannot open {path}: {type(exc).__name__}: {_first_line(exc)}") from exc
    return io.BufferedReader(_RawFile(handle, host), buffer_size=min(block_size, 1 << 20))


def _host(path: str) -> str:
    """Who a remote read waits for: the Hub's endpoint for ``hf://``, the bucket for ``s3://``."""
    if scheme(path) == "hf":
        from huggingface_hub import constants

        return urllib.parse.urlsplit(constants.ENDPOINT).netloc or "huggingface.co"
    return path.split("://", 1)[1].split("/", 1)[0]


def _as_timeout(host: str, path: str, exc: BaseException) -> RemoteTimeout | None:
    """A remote client's timeout (fsspec's, httpx's, botocore's ...) as `RemoteTimeout`; None
    for any other error."""
    if isinstance(exc, RemoteTimeout):
        return None  # already one: raised as it is
    if host and (isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower()):
        return RemoteTimeout(host, f"{host}: {_describe(exc)} reading {path}")
    return None


class _RawFile(io.RawIOBase):
    """An fsspec file as a raw stream, so `io.BufferedReader` gives it the full binary-file
    interface (fsspec's own ``readline`` takes no size limit, which bounded line reading needs).
    Each read of a remote one is in `blocked_reads` while it lasts; a client's timeout is
    raised as `RemoteTimeout`."""

    def __init__(self, handle: Any, host: str = "") -> None:
        self._handle = handle
        self._host = host

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            with _Waiting(self._host) if self._host else contextlib.nullcontext():
                data = self._handle.read(len(buffer))
        except Exception as exc:  # noqa: BLE001 - each client raises its own errors
            timeout = _as_timeout(self._host, str(getattr(self._handle, "path", "")), exc)
            if timeout is None:
                raise
            raise timeout from exc
        buffer[: len(data)] = data
        return len(data)

    def seekable(self) -> bool:
        return bool(getattr(self._handle, "seekable", lambda: False)())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def close(self) -> None:
        try:
            self._handle.close()
        finally:
            super().close()



# -- http(s):// reads ------------------------------------------------------------------------------

#: Seconds between two looks at a silent socket (the progress line's "waiting for HOST").
_TICK = 1.0
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 5


class _HttpError(OSError):
    """An HTTP answer that is not the file: ``retry`` for 5xx/429 (worth another try)."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class _PatientSocket(io.RawIOBase):
    """A connected socket read under the read deadline, polled every `_TICK` seconds so that a
    wait longer than that is in `blocked_reads` and told to the wait listener."""

    def __init__(self, sock: socket.socket, host: str, deadline: float, plain: io.IOBase) -> None:
        self._sock = sock
        self._host = host
        self._deadline = deadline
        self._plain = plain  # the socket's own file: open, the socket stays open (as http.client expects)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        started = time.monotonic()
        waiting: _Waiting | None = None
        try:
            while True:
                left = self._deadline - (time.monotonic() - started)
                if left <= 0:
                    raise TimeoutError(f"{self._host} sent nothing for {self._deadline:g} s")
                self._sock.settimeout(min(_TICK, left))
                try:
                    return self._sock.recv_into(buffer)
                except TimeoutError:  # socket.timeout: a silent second, not yet the deadline
                    if waiting is None:
                        waiting = _Waiting(self._host, since=started).__enter__()
                    waiting.tick()
        finally:
            if waiting is not None:
                waiting.__exit__()

    def close(self) -> None:
        self._plain.close()  # the socket closes once its connection has closed it too
        super().close()


def _connection(url: str, limits: Deadlines) -> tuple[http.client.HTTPConnection, str]:
    """A connection to ``url``'s server whose responses are read with the read deadline; and
    the request target (path and query)."""
    import http.client  # here: only http(s) inputs need it

    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    kind = http.client.HTTPSConnection if parts.scheme.lower() == "https" else http.client.HTTPConnection
    connection = kind(host, parts.port, timeout=limits.connect)

    def response(sock: socket.socket, *args: Any, **kwargs: Any) -> http.client.HTTPResponse:
        answer = http.client.HTTPResponse(sock, *args, **kwargs)
        # Its file on the socket is read through one under the read deadline instead.
        answer.fp = io.BufferedReader(_PatientSocket(sock, parts.netloc, limits.read, answer.fp))
        return answer

    connection.response_class = response  # type: ignore[assignment]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # A request line is ASCII: other characters (and spaces, controls) percent-encoded as
    # aiohttp and browsers do; existing %XX escapes and the URL's delimiters kept as they are.
    return connection, urllib.parse.quote(target, safe="/%?&=:@!$'()*+,;~-._")


def _credentials(url: str) -> dict[str, str]:
    """``Authorization: Basic`` for a URL with ``user:password@`` in it (as aiohttp sends)."""
    import base64

    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return {}
    pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}


class _HttpFile(io.RawIOBase):
    """An http(s):// file read ``block_size`` bytes per ``Range`` request (or as one stream when the
    server ignores ranges), every request under `Deadlines`: a stall, a lost connection or a
    5xx answer is tried again from the byte reached (``tries`` in all, with backoff), then
    raised (`RemoteTimeout` for a stall). Bytes already returned stay returned, so the records
    read before a stall are kept. 4xx answers are not tried again (404: `FileNotFoundError`)."""

    def __init__(self, url: str, size: int | None, block_size: int, limits: Deadlines) -> None:
        self.url = url
        self.host = urllib.parse.urlsplit(url).netloc
        self._size = size
        self._block = max(block_size, 1)
        self._limits = limits
        self._pos = 0
        self._ranges: bool | None = None  # does the server answer Range requests (None: not asked yet)
        self._connection: http.client.HTTPConnection | None = None
        self._response: http.client.HTTPResponse | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        # With a size (from the listing or a first answer) ranges are assumed until a server
        # answers a range with the whole file (then `_open` skips to the position instead).
        return self._size is not None and self._ranges is not False

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base is None:
            raise OSError(f"{self.url}: size unknown, cannot seek from the end")
        if base + offset != self._pos:
            self._drop()
            self._pos = max(base + offset, 0)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        return self._retrying(lambda: self._read_once(buffer)) if len(buffer) else 0

    def close(self) -> None:
        self._drop()
        super().close()

    def _retrying(self, operation: Callable[[], int | None]) -> Any:
        """``operation()``, tried again (after a pause) on a stall, a lost connection or a 5xx."""
        import http.client

        failure: BaseException | None = None
        for pause in self._limits.pauses():
            if pause:
                time.sleep(pause)
            try:
                return operation()
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                if isinstance(exc, FileNotFoundError) or not getattr(exc, "retry", True):
                    raise  # a 404, a 403: trying again changes nothing
                failure = exc
        tries = f"{self._limits.tries} tr{'y' if self._limits.tries == 1 else 'ies'}"
        if isinstance(failure, TimeoutError):
            limits = self._limits
            raise RemoteTimeout(self.host, f"no data from {self.host} within the deadlines (read {limits.read:g} s, "
                                           f"--remote-timeout; connect {limits.connect:g} s), {tries}, "
                                           f"at byte {self._pos} of {self.url}") from failure
        raise OSError(f"{type(failure).__name__}: {failure} ({tries}, {self.url})") from failure

    def _read_once(self, buffer: Any) -> int:
        import http.client

        while True:
            if self._response is None:
                if self._size is not None and self._pos >= self._size:
                    return 0
                self._open()
                if self._response is None:  # 416: nothing left
                    return 0
            # read1: what one recv gave, so the bytes before a stall reach the reader (readinto would
            # wait to fill the whole buffer, and a stall would lose what it had).
            data = self._response.read1(len(buffer))
            if data:
                buffer[: len(data)] = data
                self._pos += len(data)
                return len(data)
            if self._response.length:  # the connection closed before the body's end
                raise http.client.IncompleteRead(b"", self._response.length)
            whole = not self._ranges
            self._drop()
            if whole or self._size is None:
                return 0  # a plain stream (or a range of a file of unknown size) ended

    def _open(self) -> None:
        """Send the GET for the bytes from the current position (following redirects)."""
        url = self.url
        headers = {"User-Agent": "corpus-audit", "Accept-Encoding": "identity", **_credentials(url)}
        if self._ranges is not False:
            stop = self._pos + self._block - 1
            headers["Range"] = f"bytes={self._pos}-{stop if self._size is None else min(stop, self._size - 1)}"
        for _ in range(_MAX_REDIRECTS + 1):
            self._connection, target = _connection(url, self._limits)
            with _Waiting(self.host):  # connecting and sending (under the connect deadline)
                self._connection.request("GET", target, headers=headers)
            response = self._connection.getresponse()
            location = response.getheader("Location")
            if response.status not in _REDIRECTS or not location:
                break
            self._drop()
            url = urllib.parse.urljoin(url, location)
        self._response = response
        self._answered(response)

    def _answered(self, response: http.client.HTTPResponse) -> None:
        """Take in the answer's status: a range, the whole file, or an error to raise."""
        status = response.status
        if status == 206:
            self._ranges = True
            answered, _, total = (response.getheader("Content-Range") or "").removeprefix("bytes ").partition("/")
            start = answered.partition("-")[0].strip()
            if start.isdigit() and int(start) != self._pos:  # bytes from elsewhere would be read as these
                self._drop()
                raise _HttpError(f"asked {self.url} for bytes from {self._pos}, got Content-Range {answered}",
                                 retry=False)
            if total.strip().isdigit():
                self._size = int(total)
        elif status == 200:
            self._ranges = False
            length = response.getheader("Content-Length")
            if self._size is None and length and length.isdigit():
                self._size = int(length)
            self._discard(self._pos)  # a server that ignores ranges sends the file from its start
        elif status == 416:
            self._drop()
            self._size = self._pos if self._size is None else self._size
        else:
            self._drop()
            message = f"HTTP {status} {response.reason} for {self.url}"
            if status == 404:
                raise FileNotFoundError(message)
            raise _HttpError(message, retry=status >= 500 or status == 429)

    def _discard(self, count: int) -> None:
        import http.client

        while count > 0 and self._response is not None:
            chunk = self._response.read(min(count, 1 << 20))
            if not chunk:
                raise http.client.IncompleteRead(b"", count)
            count -= len(chunk)

    def _drop(self) -> None:
        """Close the current response and connection (the next read sends a new request)."""
        response, connection, self._response, self._connection = self._response, self._connection, None, None
        for item in (response, connection):
            if item is not None:
                try:
                    item.close()
                except Exception:  # noqa: BLE001 - closing a broken connection
                    pass


def open_input(path: str) -> BinaryIO:
    """Any input path as a binary stream: fsspec for `FSSPEC_SCHEMES`, the os for local paths,
    Beam's ``FileSystems`` otherwise (``gs://``), never decompressed. What a reader calls to open a file."""
    if handles(path):
        return open_binary(path)
    if "://" not in path:
        return open(path, "rb")  # a local file: what Beam's LocalFileSystem opens, without importing Beam
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


# -- Hub datasets by name ------------------------------------------------------------------------


@dataclass(frozen=True)
class HubPath:
    """An ``hf://`` URL taken apart: repository type and id, revision, path (or glob) inside it."""

    repo_type: str
    repo_id: str
    revision: str | None
    path_in_repo: str

    def url(self, path_in_repo: str | None = None) -> str:
        """The ``hf://`` URL of ``path_in_repo`` (default: this one) at this revision."""
        prefix = {"dataset": "datasets/", "space": "spaces/"}.get(self.repo_type, "")
        revision = f"@{self.revision}" if self.revision else ""
        inner = self.path_in_repo if path_in_repo is None else path_in_repo
        return f"hf://{prefix}{self.repo_id}{revision}" + (f"/{inner}" if inner else "")


def parse_hub_url(url: str) -> HubPath:
    """``hf://datasets/ORG/NAME[@REV][/PATH]`` → `HubPath`, offline; `InputError` if malformed."""
    from huggingface_hub.utils import parse_hf_uri

    try:
        parsed = parse_hf_uri(url)
    except Exception as exc:  # noqa: BLE001 - HfUriError / ValueError
        raise InputError(f"not a Hugging Face Hub path {url!r}: {_first_line(exc)} "
                         "(expected hf://datasets/ORG/NAME[@REVISION][/GLOB])") from exc
    return HubPath(parsed.type, parsed.id, parsed.revision, parsed.path_in_repo)


def is_bare_hub_dataset(url: str) -> bool:
    """Whether ``url`` names a whole Hub dataset (``hf://datasets/ORG/NAME[@REV]``, no path)."""
    if scheme(url) != "hf":
        return False
    try:
        hub = parse_hub_url(url)
    except InputError:
        return False
    return hub.repo_type == "dataset" and not hub.path_in_repo


def apply_hf_data_files(inputs: list[str], data_files: str | None) -> list[str]:
    """The INPUT arguments with ``--hf-data-files`` applied: each bare Hub dataset
    (``hf://datasets/allenai/c4``) becomes one ``hf://`` glob per pattern inside it
    (comma-separated patterns), which `expand` lists. Without patterns the inputs are returned
    as they are (a bare dataset is then listed whole, unsupported files reported as ignored).
    `UsageError` when patterns are given but no input is a bare Hub dataset."""
    patterns = [p.strip().lstrip("/") for p in (data_files or "").split(",") if p.strip()]
    if not patterns:
        return list(inputs)
    if not any(is_bare_hub_dataset(raw) for raw in inputs):
        raise UsageError("--hf-data-files needs an input naming a Hugging Face dataset "
                         "(hf://datasets/ORG/NAME[@REVISION])")
    out: list[str] = []
    for raw in inputs:
        if is_bare_hub_dataset(raw):
            hub = parse_hub_url(raw)
            out.extend(hub.url(pattern) for pattern in patterns)
        else:
            out.append(raw)
    return out


def remote_help(which: str) -> str:
    """The ``--help`` text of the deadline option ``which`` (``read``, ``connect`` or ``tries``)."""
    base = Deadlines()
    return {
        "read": f"remote inputs (http(s)://, hf://, s3://): seconds a server may send nothing, before its answer or "
                f"in the middle of a file, before the request is tried again (default {base.read:g}, or "
                f"${TIMEOUT_ENV}); a file still stalled after the last try is counted as a "
                f"{SKIP_REMOTE_READ_TIMEOUT} skip, the records read before it kept",
        "connect": f"remote inputs: seconds to connect to a server (default {base.connect:g}, or ${CONNECT_TIMEOUT_ENV})",
        "tries": f"remote inputs: tries of a request that stalls, loses its connection or gets a 5xx answer, with a "
                 f"pause of {base.backoff:g} s doubling between tries (default {base.tries}, or ${TRIES_ENV})",
    }[which]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--hf-data-files GLOB[,GLOB]`` (a Hub dataset by name) and the deadline options
    (`Deadlines`, `configure`), for a parser of its own (``corpus-audit run`` declares the same
    options in its `RunOptions`)."""
    parser.add_argument("--hf-data-files", metavar="GLOB", default=None,
                        help="with an input hf://datasets/ORG/NAME[@REV]: the data files to read, as globs inside "
                             "the dataset repository, comma-separated (e.g. 'en/c4-train.0000*-of-01024.json.gz'; "
                             "default: every file of a supported format)")
    parser.add_argument("--remote-timeout", metavar="SECONDS", type=_positive(float), default=None,
                        help=remote_help("read"))
    parser.add_argument("--remote-connect-timeout", metavar="SECONDS", type=_positive(float), default=None,
                        help=remote_help("connect"))
    parser.add_argument("--remote-tries", metavar="N", type=_positive(int), default=None, help=remote_help("tries"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _hub_name(url: str) -> str:
    """``ORG/NAME[@REV]`` of an ``hf://`` URL (the URL itself when it does not parse)."""
    try:
        hub = parse_hub_url(url)
    except InputError:
        return url
    return hub.repo_id + (f"@{hub.revision}" if hub.revision else "")


