"""jieba's prefix dictionary, loaded from a JSON cache of our own.

jieba builds a prefix dictionary (about 500,000 entries) from its ``dict.txt`` before it
segments anything. Its own cache is a ``marshal`` file in the system temp directory, read with
``marshal.load(file)``, which pulls the file a few bytes at a time: about 1.6 CPU s, against
1.4 s to rebuild it from ``dict.txt``. A run pays that once per process on its first Chinese
document (every 100-document test run over a mixed corpus pays it).

Here the dictionary is cached as JSON under the corpus-audit cache root
(``<cache>/jieba/prefix-<jieba version>-<sha256 of dict.txt>.json``), read whole and parsed
with orjson (about 0.3 s): a data format, never unpickled or unmarshalled, keyed by the
dictionary's content so an upgraded jieba or an edited ``dict.txt`` gets a fresh cache. A
cache that does not parse as ``{"total": int, "frequencies": {str: int}}`` is rebuilt; a
cache directory that cannot be written only costs the rebuild.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any

import orjson

__all__ = ["cache_path", "initialise"]

_FORMAT = 1


def _dictionary_sha256(tokenizer: Any) -> str:
    with tokenizer.get_dict_file() as dictionary:
        return hashlib.sha256(dictionary.read()).hexdigest()


def cache_path(tokenizer: Any) -> str:
    """Where the prefix dictionary of ``tokenizer``'s dictionary file is cached."""
    from importlib import metadata

    from corpus_audit.lexicons.cache import cache_root

    try:
        version = metadata.version("jieba")
    except metadata.PackageNotFoundError:  # pragma: no cover - jieba imported without metadata
        version = "unknown"
    name = f"prefix-v{_FORMAT}-{version}-{_dictionary_sha256(tokenizer)[:32]}.json"
    return os.path.join(cache_root(), "jieba", name)


def _read(path: str) -> tuple[dict[str, int], int] | None:
    try:
        with open(path, "rb") as handle:
            data = orjson.loads(handle.read())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    frequencies, total = data.get("frequencies"), data.get("total")
    if not isinstance(frequencies, dict) or not isinstance(total, int) or isinstance(total, bool) or total < 1:
        return None
    # Spot-check the values (a full pass costs ~40 ms; the keys are str by JSON's definition).
    if not all(isinstance(value, int) for value in list(frequencies.values())[:1000]):
        return None
    return frequencies, total


def _write(path: str, frequencies: dict[str, int], total: int) -> None:
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".prefix-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(orjson.dumps({"total": total, "frequencies": frequencies}))
            os.replace(temporary, path)  # atomic: a concurrent reader sees the old file or the new
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        return  # a read-only or full cache only costs the rebuild next time


def initialise(tokenizer: Any) -> None:
    """Give a fresh ``jieba.Tokenizer`` (default dictionary) its prefix dictionary, from the cache
    when there is a valid one, else built by jieba and cached."""
    path = cache_path(tokenizer)
    cached = _read(path)
    if cached is None:
        frequencies, total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
        _write(path, frequencies, total)
    else:
        frequencies, total = cached
    tokenizer.FREQ, tokenizer.total = frequencies, total
    tokenizer.initialized = True
