"""Paths and bytes, local or remote (``gs://`` and every other scheme Beam's ``FileSystems`` knows).

One place for the path helpers every subpackage needs: ``join`` and ``is_remote`` for names,
``read_bytes`` / ``write_bytes`` / ``exists`` / ``list_files`` / ``file_sha256`` for contents.
Beam's filesystems are imported only when a remote path (or a write) needs them: reading a
local run directory for a report must not pay for ``import apache_beam``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import posixpath
import uuid

__all__ = ["ensure_parent_dir", "exists", "file_sha256", "is_remote", "join", "list_files", "read_bytes",
           "write_bytes"]


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URL (``gs://bucket/x``) rather than a local path."""
    return "://" in path


def join(base: str, *parts: str) -> str:
    """Join path parts for local paths and URLs alike."""
    if is_remote(base):
        return posixpath.join(base, *parts)
    return os.path.join(base, *parts)


def _filesystems():
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def ensure_parent_dir(path: str) -> None:
    """Create the parent directory of a local path (object stores need none)."""
    if not is_remote(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)


def read_bytes(path: str, limit: int | None = None) -> bytes:
    """A whole file, or its first ``limit + 1`` bytes (so a caller can tell "over the limit")."""
    if not is_remote(path):
        with open(path, "rb") as f:
            return f.read() if limit is None else f.read(limit + 1)
    with _filesystems().open(path) as f:
        return f.read() if limit is None else f.read(limit + 1)


def exists(path: str) -> bool:
    if not is_remote(path):
        return os.path.exists(path)
    return _filesystems().exists(path)


def list_files(directory: str, pattern: str) -> list[str]:
    """Paths in ``directory`` whose names match the glob ``pattern``, sorted."""
    if not is_remote(directory):
        import glob

        return sorted(glob.glob(os.path.join(glob.escape(directory), pattern)))
    match = _filesystems().match([join(directory, pattern)])[0]
    return sorted(m.path for m in match.metadata_list)


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes as stored (local or remote; a ``.gz`` is not decompressed)."""
    digest = hashlib.sha256()
    if is_remote(path):
        from apache_beam.io.filesystem import CompressionTypes

        handle = _filesystems().open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    else:
        handle = open(path, "rb")
    with handle as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_bytes(path: str, data: bytes, *, create_parents: bool = True) -> None:
    """Write a whole file (local or remote) through a temporary name of its own, then rename.

    Never deletes a directory: a local ``path`` that is a directory raises IsADirectoryError.
    ``create_parents=False`` refuses (FileNotFoundError) a local path whose folder is missing.
    """
    if not is_remote(path):
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, "is a directory", path)
        if create_parents:
            ensure_parent_dir(path)
        tmp = f"{path}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            with open(tmp, "xb") as f:
                f.write(data)
            os.replace(tmp, path)  # atomic; fails on a directory instead of removing it
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
        return
    filesystems = _filesystems()
    tmp = f"{path}.{uuid.uuid4().hex[:12]}.tmp"
    with filesystems.create(tmp) as f:
        f.write(data)
    if filesystems.exists(path):
        filesystems.delete([path])
    filesystems.rename([tmp], [path])
