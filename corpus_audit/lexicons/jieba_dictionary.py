"""jieba's prefix dictionary, loaded from a JSON cache of our own.

jieba builds a prefix dictionary (about 500,000 entries) from its ``dict.txt`` before it
segments anything. Its own cache is a ``marshal`` file in the system temp directory, read with
``marshal.load(file)``, which pulls the file a few bytes at a time: about 1.6 CPU s, against
1.4 s to rebuild it from ``dict.txt``. A run pays that once per process on its first Chinese
document (every 100-document test run over a mixed corpus pays it).

Here the dictionary is cached as JSON under the corpus-audit cache root
(``<cache>/jieba/prefix-v<format>-<jieba version>-<sha256 of dict.txt>.json``), read whole and
parsed with orjson: a data format, never unpickled or unmarshalled, keyed by the dictionary's
content so an upgraded jieba or an edited ``dict.txt`` gets a fresh cache. The file is a header
line (format, the dictionary's sha256, the sha256 of the body, the entry count) and a body
``{"total": int, "frequencies": {str: int}}``. Anything else is rebuilt and rewritten: a path
that is not a regular file (symlink, FIFO, device, directory) or is over ``MAX_CACHE_BYTES``, a
header or digest that does not match, fewer than ``MIN_ENTRIES`` entries, a value that is not a
non-negative int, or a total below the sum of the values. Every value is checked, so a damaged
cache can neither change the Gender-GAP counts nor fail every Chinese document. A cache
directory that cannot be written only costs the rebuild.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import Any

import orjson

from corpus_audit.storage import write_bytes

__all__ = ["MAX_CACHE_BYTES", "MIN_ENTRIES", "cache_path", "initialise"]

_FORMAT = 2

MAX_CACHE_BYTES = 64 * 1024 * 1024
"""A cache file larger than this (jieba's default dictionary takes about 7 MB) is rebuilt."""

MIN_ENTRIES = 1000
"""A cache with fewer prefix-dictionary entries than this is rebuilt (jieba's has ~500,000)."""


def _dictionary_sha256(tokenizer: Any) -> str:
    with tokenizer.get_dict_file() as dictionary:
        return hashlib.sha256(dictionary.read()).hexdigest()


def cache_path(tokenizer: Any) -> str:
    """Where the prefix dictionary of ``tokenizer``'s dictionary file is cached."""
    return _cache_path(_dictionary_sha256(tokenizer))


def _cache_path(dictionary_sha256: str) -> str:
    from importlib import metadata

    from corpus_audit.lexicons.cache import cache_root

    try:
        version = metadata.version("jieba")
    except metadata.PackageNotFoundError:  # pragma: no cover - jieba imported without metadata
        version = "unknown"
    name = f"prefix-v{_FORMAT}-{version}-{dictionary_sha256[:32]}.json"
    return os.path.join(cache_root(), "jieba", name)


def _read_bounded(path: str) -> bytes | None:
    """The bytes of ``path`` when it is a regular file (not a symlink, FIFO, device or directory)
    of at most ``MAX_CACHE_BYTES``; ``None`` otherwise, so nothing can hang or exhaust the run."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_CACHE_BYTES:
            return None
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_CACHE_BYTES:
            chunk = os.read(fd, min(1 << 24, MAX_CACHE_BYTES + 1 - size))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        return None  # grew past the cap while being read
    except OSError:
        return None
    finally:
        os.close(fd)


def _read(path: str, dictionary_sha256: str) -> tuple[dict[str, int], int] | None:
    """The cached ``(frequencies, total)`` when the file is a valid cache of this dictionary."""
    content = _read_bounded(path)
    if content is None:
        return None
    header_bytes, newline, body = content.partition(b"\n")
    if not newline:
        return None
    try:
        header = orjson.loads(header_bytes)
    except orjson.JSONDecodeError:
        return None
    if (not isinstance(header, dict) or header.get("format") != _FORMAT
            or header.get("dictionary_sha256") != dictionary_sha256
            or header.get("payload_sha256") != hashlib.sha256(body).hexdigest()):
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    frequencies, total = data.get("frequencies"), data.get("total")
    if not isinstance(frequencies, dict) or type(total) is not int or len(frequencies) < MIN_ENTRIES:
        return None
    values = frequencies.values()
    if not all(type(value) is int and value >= 0 for value in values):
        return None
    # jieba's total is the sum of dict.txt's line frequencies: a word listed twice counts twice in
    # the total but once in the dictionary, so the total is at least the sum of the values.
    summed = sum(values)
    if summed < 1 or total < summed:
        return None
    return frequencies, total


def _serialise(frequencies: dict[str, int], total: int, dictionary_sha256: str) -> bytes:
    body = orjson.dumps({"total": total, "frequencies": frequencies})
    header = orjson.dumps({"format": _FORMAT, "dictionary_sha256": dictionary_sha256,
                           "payload_sha256": hashlib.sha256(body).hexdigest(),
                           "entries": len(frequencies)})
    return header + b"\n" + body


def _write(path: str, content: bytes) -> None:
    # storage.write_bytes: a temporary file renamed over ``path`` (atomic; replaces a symlink,
    # FIFO or damaged file there itself, never writing through it; a reader sees old or new)
    try:
        write_bytes(path, content)
    except OSError:
        return  # a read-only or full cache (or a directory at ``path``) only costs the rebuild


def initialise(tokenizer: Any) -> None:
    """Give a fresh ``jieba.Tokenizer`` (default dictionary) its prefix dictionary, from the cache
    when there is a valid one, else built by jieba and cached."""
    dictionary_sha256 = _dictionary_sha256(tokenizer)
    path = _cache_path(dictionary_sha256)
    cached = _read(path, dictionary_sha256)
    if cached is None:
        frequencies, total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
        _write(path, _serialise(frequencies, total, dictionary_sha256))
    else:
        frequencies, total = cached
    tokenizer.FREQ, tokenizer.total = frequencies, total
    tokenizer.initialized = True
