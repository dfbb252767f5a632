"""The run lock (issue 28): one holder at a time, take-over only of a lock whose process is
gone, never of one it cannot read; a refused or empty run leaves no directory behind.

Invariants checked here:

* mutual exclusion: however two processes interleave acquire, take-over and release, never
  two of them inside ``lock_directory`` at once (a shared O_EXCL marker file proves it);
* only a lock that parses and names a dead process on this host is stale; anything else
  (garbage, empty, another host, a live pid) is refused and left byte for byte as it was;
* a lock is removed on release only if it is still the one this holder wrote;
* a directory the lock created is removed when the block leaves it empty, and only then.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus_audit.rundir.run_directory import LOCK_NAME, LockHeld, lock_directory

ROUNDS = 1000


def _dead_pid() -> int:
    """The pid of a process that has ended (reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _dead_lock(pid: int) -> bytes:
    return json.dumps({"pid": pid, "host": socket.gethostname(), "started": "x", "token": "dead"}).encode()


# -- mutual exclusion -------------------------------------------------------------------------


def _contender(directory: str, marker: str, rounds: int, dead_pid: int, crash_every: int, results) -> None:
    """Acquire/release ``rounds`` times; count overlaps (the marker already there) and wins.

    With ``crash_every``, every so often the holder "dies" holding the lock: its lock is
    replaced by one naming a dead process and it leaves without releasing, so the other
    contender must take the lock over while this one keeps competing."""
    overlaps = wins = refusals = 0
    lock_path = os.path.join(directory, LOCK_NAME)
    for round_ in range(rounds):
        try:
            with lock_directory(directory):
                try:
                    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    overlaps += 1
                    continue
                os.close(fd)
                wins += 1
                os.remove(marker)
                if crash_every and round_ % crash_every == 0:
                    tmp = f"{lock_path}.crash-{os.getpid()}"
                    with open(tmp, "wb") as f:
                        f.write(_dead_lock(dead_pid))
                    os.replace(tmp, lock_path)  # what a dead holder leaves behind
        except LockHeld:
            refusals += 1
    results.put((overlaps, wins, refusals))


def _race(tmp_path: Path, stale_at_start: bool, crash_every: int = 0) -> list[tuple[int, int, int]]:
    directory = tmp_path / "out"
    directory.mkdir()
    dead = _dead_pid()
    if stale_at_start:
        (directory / LOCK_NAME).write_bytes(_dead_lock(dead))
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=_contender, args=(str(directory), str(tmp_path / "holder"), ROUNDS, dead,
                                                          crash_every, results)) for _ in range(2)]
    for process in processes:
        process.start()
    outcome = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    return outcome


@pytest.mark.parametrize("stale_at_start", [False, True], ids=["free", "dead-pid-lock-at-start"])
def test_two_processes_never_hold_the_lock_at_once(tmp_path: Path, stale_at_start: bool) -> None:
    outcome = _race(tmp_path, stale_at_start)
    assert [overlaps for overlaps, _, _ in outcome] == [0, 0], outcome
    assert sum(wins for _, wins, _ in outcome) > ROUNDS // 2, outcome  # the lock was really contended and won
    assert not (tmp_path / "out" / LOCK_NAME).exists()  # every holder released it
    assert sorted(os.listdir(tmp_path / "out")) == []  # no temporary or renamed lock left


def test_take_overs_of_dead_holders_never_let_two_in(tmp_path: Path) -> None:
    """Holders keep "dying" with the lock: each take-over races the other contender's."""
    outcome = _race(tmp_path, stale_at_start=True, crash_every=7)
    assert [overlaps for overlaps, _, _ in outcome] == [0, 0], outcome
    assert all(wins > 0 for _, wins, _ in outcome), outcome
    left = os.listdir(tmp_path / "out")
    assert left in ([], [LOCK_NAME]), left  # at most the last dead holder's lock


# -- what is stale ----------------------------------------------------------------------------

_not_a_dead_lock = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"", b"{", b"null", b"[]", b"{}", b'{"pid": "1"}', b"\xff\xfe", b" " * 10]),
    st.builds(lambda pid, host: json.dumps({"pid": pid, "host": host}).encode(),
              st.just(os.getpid()), st.just(socket.gethostname())),  # a live holder
    st.builds(lambda host: json.dumps({"pid": 2 ** 22 + 7, "host": host}).encode(),
              st.text(max_size=8).filter(lambda host: host != socket.gethostname())),  # another host
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_not_a_dead_lock)
def test_only_a_readable_lock_of_a_dead_process_is_taken_over(tmp_path_factory, content: bytes) -> None:
    directory = tmp_path_factory.mktemp("out")
    lock = directory / LOCK_NAME
    lock.write_bytes(content)
    with pytest.raises(LockHeld) as refused:
        with lock_directory(str(directory)):
            pytest.fail("entered a directory locked by someone else (or by a lock it cannot read)")
    message = str(refused.value)
    assert "\n" not in message and str(directory) in message
    assert lock.read_bytes() == content  # never removed or rewritten
    assert sorted(os.listdir(directory)) == [LOCK_NAME]


def test_an_unreadable_lock_is_named_in_the_refusal(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_bytes(b"")
    with pytest.raises(LockHeld, match=f"{tmp_path / LOCK_NAME}.*(empty|damaged)"):
        with lock_directory(str(tmp_path)):
            pass


def test_a_lock_of_a_dead_process_is_taken_over_and_released(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_bytes(_dead_lock(_dead_pid()))
    with lock_directory(str(tmp_path)):
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["token"] != "dead"
    assert os.listdir(tmp_path) == []


def test_the_lock_is_whole_when_it_appears(tmp_path: Path) -> None:
    with lock_directory(str(tmp_path)):
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname() and holder["token"]
        assert os.listdir(tmp_path) == [LOCK_NAME]  # the temporary file it was linked from is gone


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path: Path) -> None:
    other = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "token": "someone-else"}).encode()
    with lock_directory(str(tmp_path)):
        (tmp_path / LOCK_NAME).write_bytes(other)
    assert (tmp_path / LOCK_NAME).read_bytes() == other


def test_the_names_are_importable_from_both_modules() -> None:
    from corpus_audit.rundir import lock, run_directory

    assert run_directory.lock_directory is lock.lock_directory
    assert run_directory.LockHeld is lock.LockHeld and run_directory.LOCK_NAME == lock.LOCK_NAME


# -- a run that wrote nothing leaves nothing ----------------------------------------------------


@pytest.mark.parametrize("raises", [True, False])
def test_a_directory_the_lock_created_goes_when_left_empty(tmp_path: Path, raises: bool) -> None:
    target = tmp_path / "a" / "b" / "out"
    with pytest.raises(ValueError) if raises else contextlib.nullcontext():
        with lock_directory(str(target)):
            assert target.is_dir()
            if raises:
                raise ValueError("refused")
    assert os.listdir(tmp_path) == []  # every level it created, and only those


def test_a_directory_holding_anything_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "a" / "out"
    with lock_directory(str(target)):
        (target / "summary.json").write_text("{}")
    assert os.listdir(target) == ["summary.json"]
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(ValueError):
        with lock_directory(str(existing)):
            raise ValueError("refused")
    assert existing.is_dir()  # not created by the lock: never removed



# -- interrupted while taking the lock ------------------------------------------------------------


class _InterruptOnce:
    """Stands for a module (os, fcntl) in corpus_audit.rundir.lock: its ``at``-th function
    call raises KeyboardInterrupt (a stop signal's unwinding) before or after doing its work —
    where a signal handler runs, once a system call returns."""

    def __init__(self, module: Any, counter: dict[str, int], at: int, after: bool) -> None:
        self._module, self._counter, self._at, self._after = module, counter, at, after

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._module, name)
        if not callable(real) or isinstance(real, type):
            return real  # constants, os.path, exception classes

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counter["calls"] += 1
            hit = self._counter["calls"] == self._at
            if hit and not self._after:
                raise KeyboardInterrupt(name)
            result = real(*args, **kwargs)
            if hit:
                raise KeyboardInterrupt(name)
            return result

        return call


@pytest.mark.parametrize("after", [False, True], ids=["before-the-call", "after-the-call"])
@pytest.mark.parametrize("stale", [False, True], ids=["free", "dead-pid-lock"])
def test_interrupted_anywhere_while_taking_the_lock_leaves_nothing(tmp_path: Path, monkeypatch, stale: bool,
                                                                    after: bool) -> None:
    """Wherever one interruption lands while the lock is taken (plainly or over a dead
    holder's), nothing of this run is left: no temporary file, no lock, no directory it made."""
    import fcntl

    from corpus_audit.rundir import lock

    dead = _dead_lock(_dead_pid())
    for at in range(1, 1000):
        out = tmp_path / str(at) / "out"
        if stale:
            out.mkdir(parents=True)
            (out / LOCK_NAME).write_bytes(dead)
        counter = {"calls": 0}
        monkeypatch.setattr(lock, "os", _InterruptOnce(os, counter, at, after))
        monkeypatch.setattr(lock, "fcntl", _InterruptOnce(fcntl, counter, at, after))
        entered = False
        try:
            with lock_directory(str(out)):
                entered = True
        except KeyboardInterrupt:
            pass
        monkeypatch.undo()
        left = sorted(p.name for p in out.iterdir()) if out.exists() else None
        if not stale:
            assert left is None, (at, left)  # and the parent it made went too
        elif not entered:
            assert left == [] or (left == [LOCK_NAME] and (out / LOCK_NAME).read_bytes() == dead), (at, left)
        else:
            assert left == [], (at, left)
        if counter["calls"] < at:
            assert entered
            break  # the whole acquisition and release ran without reaching call ``at``: all were tried
    else:
        pytest.fail("the lock kept being interrupted")


def test_a_run_is_not_refused_for_the_temporary_file_of_another_run_taking_the_lock(tmp_path: Path) -> None:
    """While a second run takes (or fails to take) the lock, its temporary lock file sits in
    the directory for a moment; the run holding the lock must not count it as a foreign file."""
    from conftest import SENTENCES, main, write_jsonl

    shard = write_jsonl(tmp_path / "a.jsonl", [{"id": "1", "text": SENTENCES["en"]}])
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{LOCK_NAME}.{'0' * 32}.tmp").write_bytes(b"{}")
    assert main(["run", str(shard), "--output", str(out), "--quiet", "--stages", "langid"]) == 0


def test_a_process_forked_while_holding_the_lock_does_not_give_it_back(tmp_path: Path) -> None:
    pid = -1
    try:
        with lock_directory(str(tmp_path)):
            pid = os.fork()
            if pid == 0:
                raise SystemExit  # the child leaves the block too: its release runs there
            os.waitpid(pid, 0)
            assert (tmp_path / LOCK_NAME).exists()
    finally:
        if pid == 0:
            os._exit(0)
    assert not (tmp_path / LOCK_NAME).exists()
