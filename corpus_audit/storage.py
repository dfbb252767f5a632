"""Paths and bytes, local or remote (``gs://`` and every other scheme Beam's ``FileSystems`` knows).

One place for the path helpers every subpackage needs: ``join`` and ``is_remote`` for names,
``read_bytes`` / ``write_bytes`` / ``exists`` / ``list_files`` / ``file_sha256`` for contents, and
`AtomicFile`, the one way a file is streamed out (temporary name of its own, renamed when whole).
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
from typing import Any

__all__ = ["AtomicFile", "ensure_parent_dir", "exists", "file_sha256", "is_remote", "join", "list_files", "read_bytes",
           "write_bytes"]


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URL (``gs://bucket/x``) rather than a local path."""
    return "://" in path


def check_output_location(path: str, option: str = "--output") -> None:
    """Refuse (`UsageError`) a remote ``path`` no writer here can write: outputs go through Beam's
    ``FileSystems`` (gs://, s3:// with its extra, ...); fsspec-only schemes such as ``memory://``
    or ``http(s)://`` are inputs only."""
    if not is_remote(path):
        return
    from apache_beam.io.filesystems import FileSystems

    from corpus_audit.errors import UsageError

    scheme = path.split("://", 1)[0].lower()
    try:
        FileSystems.get_filesystem(path)
    except ValueError:
        raise UsageError(f"{option} {path}: corpus-audit cannot write to {scheme}:// (write to a local directory, "
                         "or gs:// and the other stores Apache Beam writes to)") from None


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


def open_read(path: str) -> Any:
    """A file's bytes as stored, as a binary stream (local or remote; a ``.gz`` is not decompressed)."""
    if not is_remote(path):
        return open(path, "rb")
    from apache_beam.io.filesystem import CompressionTypes

    return _filesystems().open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def read_bytes(path: str, limit: int | None = None) -> bytes:
    """A whole file as stored, or its first ``limit + 1`` bytes (so a caller can tell "over the limit")."""
    with open_read(path) as f:
        return f.read() if limit is None else f.read(limit + 1)


def copy_file(source: str, destination: str) -> None:
    """Copy ``source`` to ``destination`` (local or remote, either way) through a temporary name."""
    with open_read(source) as reader, AtomicFile(destination) as writer:
        for chunk in iter(lambda: reader.read(1 << 22), b""):
            writer.write(chunk)


def replace_directory(staging: str, target: str) -> None:
    """Put the local folder ``staging`` in place of ``target`` (renames: readers see the old
    folder or the new one, never a mix); the old one is removed afterwards."""
    import shutil
    import tempfile

    if not os.path.isdir(target):
        os.rename(staging, target)
        return
    old = tempfile.mkdtemp(prefix=".corpus-audit-old-", dir=os.path.dirname(os.path.abspath(target)))
    os.rename(target, os.path.join(old, "previous"))
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)  # made above: holds only the folder replaced


def delete(path: str) -> None:
    """Remove one file (local or remote); a missing file is not an error."""
    if not is_remote(path):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        return
    if _filesystems().exists(path):
        _filesystems().delete([path])


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
    with open_read(path) as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


class AtomicFile:
    """A file streamed to a temporary name of its own and renamed to ``path`` once it is whole.

    A reader never sees a partial file, and a retried writer replaces the file instead of
    adding a second one. ``with AtomicFile(path) as f:`` publishes on success and removes the
    temporary file when the block raises; `open` / `publish` / `abort` do the same by hand.
    Local paths use the os module (no Beam import); other paths Beam's FileSystems.
    """

    def __init__(self, path: str, *, create_parents: bool = True) -> None:
        self.path = path
        self.tmp_path = f"{path}.{uuid.uuid4().hex[:12]}.tmp"
        self._local = not is_remote(path)
        self._create_parents = create_parents
        self._file = None
        self._finished = False  # published or aborted: ``path`` is no longer this writer's to touch

    def open(self):
        """Create the temporary file and return it (binary, write-only).

        Locally, never touches a directory at ``path`` (IsADirectoryError) and, with
        ``create_parents=False``, refuses a missing folder (FileNotFoundError).
        """
        if self._local:
            if os.path.isdir(self.path):
                raise IsADirectoryError(errno.EISDIR, "is a directory", self.path)
            if self._create_parents:
                ensure_parent_dir(self.path)
            try:
                self._file = open(self.tmp_path, "xb")
            except FileExistsError:
                raise  # not this writer's file
            except BaseException:  # e.g. a stop signal just after the file was made, before it is held
                with contextlib.suppress(OSError):
                    os.remove(self.tmp_path)  # a name of this writer's own
                raise
        else:
            self._file = _filesystems().create(self.tmp_path)
        return self._file

    def publish(self) -> None:
        """Close the temporary file and move it to ``path`` (atomic for local files)."""
        if self._file is None or self._finished:  # a second publish would delete the published file
            raise ValueError(f"{self.path}: nothing to publish (never opened, already published or aborted)")
        try:
            self._file.close()
            if self._local:
                os.replace(self.tmp_path, self.path)  # fails on a directory instead of removing it
            else:
                filesystems = _filesystems()
                if filesystems.exists(self.path):
                    filesystems.delete([self.path])
                filesystems.rename([self.tmp_path], [self.path])
            self._finished = True
        except BaseException:  # e.g. Ctrl-C during the rename: leave no temporary file behind
            self.abort()
            raise

    def abort(self) -> None:
        """Close and remove the temporary file; ``path`` is left as it was."""
        if self._file is None or self._finished:
            return  # never opened (nothing was written), or already published or aborted
        self._finished = True
        try:
            with contextlib.suppress(Exception):
                self._file.close()
        finally:  # removed even when Ctrl-C (or a SIGTERM exit) lands in the close
            if self._local:
                # best effort: a cleanup error must not replace the error (or Ctrl-C) being raised
                with contextlib.suppress(OSError):
                    os.remove(self.tmp_path)
            else:
                with contextlib.suppress(Exception):
                    if _filesystems().exists(self.tmp_path):
                        _filesystems().delete([self.tmp_path])

    def __enter__(self):
        return self.open()

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.publish()
        else:
            self.abort()


def write_bytes(path: str, data: bytes, *, create_parents: bool = True) -> None:
    """Write a whole file (local or remote) through a temporary name of its own, then rename.

    Never deletes a directory: a local ``path`` that is a directory raises IsADirectoryError.
    ``create_parents=False`` refuses (FileNotFoundError) a local path whose folder is missing.
    """
    with AtomicFile(path, create_parents=create_parents) as f:
        f.write(data)
