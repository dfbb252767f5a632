"""`storage.AtomicFile`: the one temporary-name-then-rename writer (documents, skip files, tables)."""

from __future__ import annotations

import os

import pytest

from corpus_audit.storage import AtomicFile, write_bytes


def _leftovers(directory) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


def test_publish_replaces_the_file_and_leaves_no_temporary(tmp_path) -> None:
    target = tmp_path / "sub" / "out.bin"
    with AtomicFile(str(target)) as f:
        f.write(b"first")
        assert not target.exists()  # a reader never sees a partial file
    with AtomicFile(str(target)) as f:
        f.write(b"second")
    assert target.read_bytes() == b"second"
    assert _leftovers(target.parent) == []


def test_an_exception_keeps_the_old_file_and_removes_the_temporary(tmp_path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with AtomicFile(str(target)) as f:
            f.write(b"half")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_abort_before_open_and_twice_is_harmless(tmp_path) -> None:
    atomic = AtomicFile(str(tmp_path / "never.bin"))
    atomic.abort()
    atomic.open().write(b"x")
    atomic.abort()
    atomic.abort()
    assert os.listdir(tmp_path) == []


def test_a_directory_is_never_replaced(tmp_path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "user.txt").write_text("mine")
    with pytest.raises(IsADirectoryError):
        write_bytes(str(tmp_path / "taken"), b"data")
    assert (tmp_path / "taken" / "user.txt").read_text() == "mine"
    assert _leftovers(tmp_path) == []


def test_create_parents_false_refuses_a_missing_folder(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        write_bytes(str(tmp_path / "missing" / "x.md"), b"data", create_parents=False)
    assert not (tmp_path / "missing").exists()


class _MemoryFileSystems:
    """Beam's FileSystems calls AtomicFile makes for a remote path, over a dict (Beam ships no
    in-memory filesystem)."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def create(self, path: str):
        import io

        store = self.store

        class _Upload(io.BytesIO):  # an object store keeps the object when the upload closes
            def close(self) -> None:
                if not self.closed:
                    store[path] = self.getvalue()
                super().close()

        return _Upload()

    def exists(self, path: str) -> bool:
        return path in self.store

    def delete(self, paths: list[str]) -> None:
        for path in paths:
            del self.store[path]

    def rename(self, sources: list[str], destinations: list[str]) -> None:
        for source, destination in zip(sources, destinations):
            self.store[destination] = self.store.pop(source)


def test_a_remote_file_survives_a_second_publish_and_a_late_abort(monkeypatch) -> None:
    """publish twice, or publish after abort, must never delete what is already at ``path``."""
    import corpus_audit.storage as storage

    memory = _MemoryFileSystems()
    monkeypatch.setattr(storage, "_filesystems", lambda: memory)
    published = AtomicFile("mem://bucket/out.bin")
    published.open().write(b"whole")
    published.publish()
    with pytest.raises(Exception):
        published.publish()
    published.abort()
    assert memory.store == {"mem://bucket/out.bin": b"whole"}

    aborted = AtomicFile("mem://bucket/out.bin")
    aborted.open().write(b"half")
    aborted.abort()
    with pytest.raises(Exception):
        aborted.publish()
    assert memory.store == {"mem://bucket/out.bin": b"whole"}


class _CloseInterrupted:
    """A file whose close is hit by Ctrl-C (or a worker's SIGTERM exit) every time."""

    def __init__(self, file) -> None:
        self._file = file

    def write(self, data: bytes) -> int:
        return self._file.write(data)

    def close(self) -> None:
        self._file.close()
        raise KeyboardInterrupt


def test_abort_removes_the_temporary_even_when_close_is_interrupted(tmp_path, monkeypatch) -> None:
    import builtins

    import corpus_audit.storage as storage

    monkeypatch.setattr(storage, "open", lambda *a: _CloseInterrupted(builtins.open(*a)), raising=False)
    with pytest.raises(KeyboardInterrupt):
        with AtomicFile(str(tmp_path / "out.bin")) as f:
            f.write(b"half")
            raise ValueError("the writer failed")
    assert os.listdir(tmp_path) == []


def test_a_document_writer_interrupted_while_closing_leaves_no_temporary(tmp_path, monkeypatch) -> None:
    """Ctrl-C (or a worker's SIGTERM exit) inside the Parquet writer's close, again in abort."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpus_audit.rundir.document_writer import DocumentTableWriter

    close = pq.ParquetWriter.close

    def interrupted(self) -> None:  # closes, then is hit by the signal: in close, again in abort
        close(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(pq.ParquetWriter, "close", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with DocumentTableWriter(str(tmp_path), "split", pa.schema([("id", pa.string())])) as writer:
            writer.write({"id": ["a", "b"]})
    assert os.listdir(tmp_path / "documents") == []


def test_a_failed_cleanup_does_not_hide_the_original_error(tmp_path, monkeypatch) -> None:
    """The folder became unwritable while the file was written: the exception the user sees is
    the one that stopped the write (here Ctrl-C), not the cleanup's PermissionError."""
    import corpus_audit.storage as storage

    def refuse(path):
        raise PermissionError(13, "Permission denied", path)

    with pytest.raises(KeyboardInterrupt):
        with AtomicFile(str(tmp_path / "out.bin")) as f:
            f.write(b"half")
            monkeypatch.setattr(storage.os, "remove", refuse)
            raise KeyboardInterrupt
