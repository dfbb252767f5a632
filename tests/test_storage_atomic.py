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
