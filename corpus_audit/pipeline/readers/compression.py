"""Byte streams of input files: decompression by suffix, zstd frames, bounded line splitting.

Files are opened through Beam's ``FileSystems`` so ``gs://`` paths work the same as local
ones. Nothing here counts records: truncation surfaces as one of `stream_errors`, and the
JSONL reader turns it into a counted skip.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import Iterator

from corpus_audit import remote

__all__ = ["EXCERPT_BYTES", "OversizedLine", "ZstdFramesReader", "bounded_lines", "open_decompressed",
           "stream_errors"]

EXCERPT_BYTES = 1024  # head of an oversized line kept for its skip record


def open_decompressed(path: str) -> tuple[io.IOBase, io.IOBase]:
    """(line stream, underlying file): decompression chosen by suffix (.gz, .zst)."""
    raw = remote.open_input(path)  # fsspec for hf://, s3://, http(s)://, memory://; Beam's FileSystems otherwise
    lower = path.lower()
    if lower.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw
    if lower.endswith((".zst", ".zstd")):
        return io.BufferedReader(ZstdFramesReader(raw), buffer_size=1 << 20), raw
    return raw, raw


class ZstdFramesReader(io.RawIOBase):
    """Decompresses a (multi-frame) zstd stream and raises `EOFError` when it is truncated.

    ``zstandard``'s ``stream_reader`` ends quietly on a truncated frame, which would lose
    the tail of a shard without a trace; this reader checks each frame reached its end.
    Compressed input is fed in small pieces so that one call's output stays bounded even
    for highly compressible data.
    """

    PIECE = 1 << 14  # compressed bytes per decompress call

    def __init__(self, raw: io.IOBase) -> None:
        import zstandard  # imported lazily: only zstd inputs need it

        self._raw = raw
        self._new = zstandard.ZstdDecompressor().decompressobj
        self._frame = self._new()
        self._frame_has_input = False
        self._pending = memoryview(b"")
        self._compressed = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - any writable buffer
        while not self._pending:
            if not self._compressed:
                self._compressed = self._raw.read(1 << 20)
                if not self._compressed:
                    if self._frame_has_input and not self._frame.eof:
                        raise EOFError("zstd stream ended before the end of its frame (truncated file)")
                    return 0
            piece, self._compressed = self._compressed[: self.PIECE], self._compressed[self.PIECE:]
            self._pending = memoryview(self._feed(piece))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _feed(self, compressed: bytes) -> bytes:
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
    errors: list[type[BaseException]] = [EOFError, OSError, zlib.error]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - zstandard is a dependency
        pass
    return tuple(errors)


class OversizedLine(bytes):
    """The first bytes of a line longer than the limit; ``size`` is the whole line's size."""

    size: int


def bounded_lines(stream: io.IOBase, limit: int) -> Iterator[bytes]:
    """Lines of ``stream``, never holding more than ``limit`` bytes of one line in memory.

    A longer line is drained in chunks and yielded as an `OversizedLine` (its head, and its
    size), so one huge record cannot exhaust a worker's memory.
    """
    readline = stream.readline
    while True:
        line = readline(limit)
        if not line:
            return
        if len(line) < limit:
            yield line
            continue
        size = len(line)  # ``limit`` bytes and more: too large, with or without its newline
        if not line.endswith(b"\n"):
            while True:
                chunk = readline(1 << 20)
                size += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
        oversized = OversizedLine(line[:EXCERPT_BYTES])
        oversized.size = size
        yield oversized
