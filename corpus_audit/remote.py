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
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass
from typing import Any, BinaryIO

from corpus_audit.errors import InputError, UsageError

__all__ = ["BLOCK_SIZE", "FSSPEC_SCHEMES", "HubPath", "RemoteFile", "add_arguments", "apply_hf_data_files", "expand",
           "filesystem", "handles", "is_bare_hub_dataset", "open_binary", "open_input", "parse_hub_url", "scheme"]

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


def scheme(path: str) -> str:
    """The URL scheme of ``path`` (lower case), "" for a local path."""
    return path.split("://", 1)[0].lower() if "://" in path else ""


def handles(path: str) -> bool:
    """Whether ``path`` is read through fsspec (`FSSPEC_SCHEMES`) rather than Beam's filesystems."""
    return scheme(path) in FSSPEC_SCHEMES


def filesystem(path: str) -> Any:
    """The fsspec filesystem for ``path``'s scheme; `InputError` (one line, with the install
    command) when the package it needs is missing."""
    import fsspec

    name = scheme(path)
    try:
        return fsspec.filesystem(name)
    except ImportError as exc:
        package, hint = _EXTRAS.get(name, (name, f"install the fsspec implementation for {name}://"))
        raise InputError(f"{name}:// inputs need {package}: {hint}") from exc


def _url(fs: Any, path: str) -> str:
    """fsspec's path for a file (protocol stripped by most filesystems) as one canonical URL."""
    return fs.unstrip_protocol(fs._strip_protocol(path))  # noqa: SLF001 - fsspec's own normaliser


def expand(url: str) -> list[RemoteFile]:
    """The files a URL names, sorted: a glob (``**`` recursive), one file, or every file below a
    "directory" (a prefix, or a URL ending in ``/``; over HTTP, the links of its index page).
    Sizes come from the listing, or from one ``info`` call per file when it gives none.
    `InputError` when it cannot be listed (one line: what and why)."""
    fs = filesystem(url)
    try:
        if _GLOB_CHARS & set(url):
            entries = list(fs.glob(url, detail=True).items())
        elif not url.endswith("/") and fs.isfile(url):
            entries = [(url, fs.info(url))]
        else:
            entries = list(fs.find(url, detail=True).items())
        files = {_url(fs, path): info.get("size") for path, info in entries if info.get("type") != "directory"}
        files = {path: fs.info(path).get("size") if size is None else size for path, size in files.items()}
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - errors vary by filesystem (HTTP, Hub, S3)
        what = f"Hugging Face dataset {_hub_name(url)}" if scheme(url) == "hf" else "input"
        raise InputError(f"cannot list {what} ({url}): {type(exc).__name__}: {_first_line(exc)}") from exc
    return [RemoteFile(path, None if size is None else int(size)) for path, size in sorted(files.items())]


def open_binary(path: str, block_size: int = BLOCK_SIZE) -> io.BufferedReader:
    """``path`` opened for binary reads (``readline(limit)``, ``seek`` for Parquet), fetched
    ``block_size`` bytes at a time: range requests over HTTP and the Hub, a plain stream when
    a server gives no size. Never more than a block or two of the file is held in memory."""
    fs = filesystem(path)
    try:
        handle = fs.open(path, "rb", block_size=block_size, cache_type="readahead")
    except TypeError:  # a filesystem without those keywords (memory://)
        handle = fs.open(path, "rb")
    except Exception as exc:  # noqa: BLE001 - errors vary by filesystem
        raise OSError(f"cannot open {path}: {type(exc).__name__}: {_first_line(exc)}") from exc
    return io.BufferedReader(_RawFile(handle), buffer_size=min(block_size, 1 << 20))


class _RawFile(io.RawIOBase):
    """An fsspec file as a raw stream, so `io.BufferedReader` gives it the full binary-file
    interface (fsspec's own ``readline`` takes no size limit, which bounded line reading needs)."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._handle.read(len(buffer))
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--hf-data-files GLOB[,GLOB]`` for ``corpus-audit run`` (a Hub dataset by name)."""
    parser.add_argument("--hf-data-files", metavar="GLOB", default=None,
                        help="with an input hf://datasets/ORG/NAME[@REV]: the data files to read, as globs inside "
                             "the dataset repository, comma-separated (e.g. 'en/c4-train.0000*-of-01024.json.gz'; "
                             "default: every file of a supported format)")


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


