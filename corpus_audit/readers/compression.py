"""Byte streams of input files: decompression by magic bytes, zstd frames, bounded line splitting.

Files are opened through `corpus_audit.remote.open_input` (fsspec schemes; Beam's ``FileSystems`` for local and ``gs://``) so remote paths work the same as local
ones. The compression is read from the file's first bytes (gzip, zstd, bzip2, xz), never
only from its suffix, so a ``.gz`` that holds plain text is read as plain text and a
``.jsonl`` that is gzipped is decompressed. Every decompressor here returns a bounded number
of bytes per read call (gzip, bz2 and xz through the standard library's bounded readers,
zstd through `ZstdFramesReader`), so a small "bomb" cannot fill a worker's memory.

Nothing here counts records: truncation surfaces as one of `stream_errors`, and the JSONL
reader turns it into a counted skip.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from typing import Iterator

from corpus_audit import remote

__all__ = ["COMPRESSION_MAGIC", "EXCERPT_BYTES", "OversizedLine", "ZstdFramesReader", "bounded_lines",
           "detect_compression", "failure_reason", "open_decompressed", "stream_errors"]

EXCERPT_BYTES = 1024  # head of an oversized line kept for its skip record

#: First bytes of each compressed format read here.
COMPRESSION_MAGIC: dict[str, bytes] = {
    "gzip": b"\x1f\x8b",
    "zstd": b"\x28\xb5\x2f\xfd",
    "bzip2": b"BZh",
    "xz": b"\xfd7zXZ\x00",
}
_MAGIC_BYTES = max(len(magic) for magic in COMPRESSION_MAGIC.values())


def detect_compression(head: bytes) -> str | None:
    """The compression whose magic bytes ``head`` starts with (None: not compressed)."""
    for name, magic in COMPRESSION_MAGIC.items():
        if head.startswith(magic):
            return name
    return None


def open_decompressed(path: str) -> tuple[io.IOBase, io.IOBase]:
    """``(line stream, underlying file)`` of ``path``, decompressed as its first bytes say."""
    raw = remote.open_input(path)  # fsspec for hf://, s3://, http(s)://, memory://; Beam's FileSystems otherwise
    try:
        head = raw.read(_MAGIC_BYTES)
        source = _rewound(raw, head)
        compression = detect_compression(head)
        if compression == "gzip":
            return gzip.GzipFile(fileobj=source, mode="rb"), raw
        if compression == "zstd":
            return io.BufferedReader(ZstdFramesReader(source), buffer_size=1 << 20), raw
        if compression == "bzip2":
            return bz2.BZ2File(source, mode="rb"), raw
        if compression == "xz":
            return lzma.LZMAFile(source, mode="rb"), raw
        return (source if source is raw else io.BufferedReader(source, buffer_size=1 << 20)), raw
    except BaseException:
        raw.close()
        raise


def _rewound(raw: io.IOBase, head: bytes) -> io.IOBase:
    """``raw`` read again from its start: seeked back, or ``head`` put in front of the rest."""
    try:
        if raw.seekable():
            raw.seek(0)
            return raw
    except (OSError, AttributeError, ValueError):
        pass
    return _PrefixedReader(head, raw)


class _PrefixedReader(io.RawIOBase):
    """``prefix`` followed by the rest of ``raw`` (for streams that cannot seek back)."""

    def __init__(self, prefix: bytes, raw: io.IOBase) -> None:
        self._prefix = memoryview(prefix)
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - any writable buffer
        if self._prefix:
            size = min(len(buffer), len(self._prefix))
            buffer[:size] = self._prefix[:size]
            self._prefix = self._prefix[size:]
            return size
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class ZstdFramesReader(io.RawIOBase):
    """Decompresses a (multi-frame) zstd stream and raises `EOFError` when it is truncated.

    ``zstandard``'s ``stream_reader`` ends quietly on a truncated frame, which would lose
    the tail of a shard without a trace; this reader checks each frame reached its end.

    Bounded: ``zstandard``'s ``decompress`` has no output limit, and a zstd block of 128 KiB
    can be encoded in 4 bytes (a ratio of 32,768). Compressed input is therefore fed
    `PIECE` bytes at a time, so that one call produces at most about ``PIECE * 32768`` =
    8 MiB (plus one block), whatever the data; the same order as gzip's bounded reader.
    """

    PIECE = 256  # compressed bytes per decompress call: <= ~8 MiB of output each

    def __init__(self, raw: io.IOBase) -> None:
        import zstandard  # imported lazily: only zstd inputs need it

        self._raw = raw
        self._new = zstandard.ZstdDecompressor().decompressobj
        self._frame = self._new()
        self._frame_has_input = False
        self._pending = memoryview(b"")
        self._compressed = memoryview(b"")
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - any writable buffer
        while not self._pending:
            if self._offset >= len(self._compressed):
                self._compressed, self._offset = memoryview(self._raw.read(1 << 16)), 0
                if not self._compressed:
                    if self._frame_has_input and not self._frame.eof:
                        raise EOFError("zstd stream ended before the end of its frame (truncated file)")
                    return 0
            piece = self._compressed[self._offset:self._offset + self.PIECE]
            self._offset += self.PIECE
            self._pending = memoryview(self._feed(piece))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _feed(self, compressed: bytes | memoryview) -> bytes:
        out = []
        while compressed:
            if self._frame.eof:
                self._frame, self._frame_has_input = self._new(), False
            self._frame_has_input = True
            out.append(self._frame.decompress(compressed))
            compressed = self._frame.unused_data if self._frame.eof else b""
        return b"".join(out)


def stream_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the rest of this compressed stream is unreadable"."""
    errors: list[type[BaseException]] = [EOFError, OSError, zlib.error, lzma.LZMAError]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - zstandard is a dependency
        pass
    return tuple(errors)


def failure_reason(exc: BaseException, reason: str) -> str:
    """The skip reason of a read that failed with ``exc``: `remote.SKIP_REMOTE_READ_TIMEOUT` when
    a server stalled past its deadline on every try, else ``reason`` (the reader's own)."""
    return remote.SKIP_REMOTE_READ_TIMEOUT if isinstance(exc, remote.RemoteTimeout) else reason


class OversizedLine(bytes):
    """The first bytes of a line longer than the limit; ``size`` is the whole record's size
    (its bytes without the line terminator), ``line_bytes`` the line's with it."""

    size: int
    line_bytes: int


def bounded_lines(stream: io.IOBase, limit: int) -> Iterator[bytes]:
    """Lines of ``stream`` (with their terminators), never holding more than ``limit`` bytes of
    one line in memory.

    A line that does not end within ``limit`` bytes is drained in chunks and yielded as an
    `OversizedLine` (its head, and its size without the terminator), so one huge record
    cannot exhaust a worker's memory.
    """
    readline = stream.readline
    while True:
        line = readline(limit)
        if not line:
            return
        if len(line) < limit or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        last = line[-2:]
        while True:
            chunk = readline(1 << 20)
            if chunk:
                last = (last + chunk[-2:])[-2:]
            size += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                break
        oversized = OversizedLine(line[:EXCERPT_BYTES])
        oversized.line_bytes = size
        if last.endswith(b"\r\n"):
            size -= 2
        elif last.endswith(b"\n"):
            size -= 1
        oversized.size = size
        yield oversized
