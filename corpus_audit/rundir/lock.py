"""The run lock: ``corpus-audit.lock`` in a run's output (and checkpoint) directory, held by
one run at a time.

The lock file holds JSON naming its holder: ``{"pid", "host", "started", "token"}`` (``token``:
a random id of this holding). How it is taken, given back and taken over:

* **Acquire.** The holder's JSON is written to a temporary file of its own in the directory
  (``corpus-audit.lock.<token>.tmp``), which is then ``os.link``-ed to the lock name: a link
  fails if the name exists, and the lock appears with its whole content at once. A reader
  never sees an empty or half-written lock of ours, so a lock that does not parse is never
  "a run still writing it" — it is damaged, and refused (below).
* **Stale.** Only a lock that parses and names a process on *this* host that no longer exists
  is stale. Garbage, an empty file, a lock of another host, of a live process (or a zombie),
  or one that cannot be read is held: the run is refused with one line naming the file, and
  the lock is left exactly as it was.
* **Take-over** of a stale lock happens under an exclusive ``flock`` on the directory itself
  (released by the kernel if the process dies, so it can never be left behind): there the
  lock is read and judged again, and if it is still stale it is *replaced* in one step by
  ``os.rename`` of our temporary file over it (never unlinked first: the name is never free
  in between).
* **Release** removes the lock only if it still holds our token and our pid (a process forked
  while holding it never gives back its parent's lock).

Why two contenders can never both hold the lock. The lock name changes in three ways only:
(a) a link, which succeeds only while the name is free; (b) a take-over rename, done only
under the directory's flock and only after the content *present at that moment* named a dead
process; (c) a release, done only by the process whose token is in the file. Consider a
holder H whose content is in the file. While H lives, (b) cannot replace it (H's pid is
alive), (a) cannot (the name is taken), and (c) is H's alone; so the file keeps H's content
until H releases it, and nobody else wins meanwhile. A taker-over T judges under the flock; no
other take-over runs then, the dead holder cannot release, and a link cannot replace an
existing name, so the stale content T judged is still the content T replaces: T cannot
replace a lock won in between. Hence at any moment at most one live process has its token in
the file, and only a process whose token is (or was just linked) in the file proceeds.

Interruptions (Ctrl-C, a stop signal) while the lock is taken or given back: every clean-up
step is idempotent and run again if it is itself interrupted (`_undo`), so one interruption
anywhere leaves neither a lock nor a temporary file nor a directory of ours behind.

Limits: a pid reused by an unrelated process makes a dead holder look alive (the run is then
refused: safe, the user deletes the lock); a process killed with SIGKILL between writing its
temporary file and linking it leaves that ``.tmp`` file (`is_lock_file`: a run's checks of its
directory pass over it); without ``flock`` on the directory (some network file systems) a stale
lock is not taken over but refused. Object stores have no exclusive create: remote directories
are not locked.

A directory the lock had to create (and any parent it created) is removed again when the
lock is given back and the directory is empty: a run refused, or stopped, before it wrote
anything leaves nothing behind. ``os.rmdir`` removes only empty directories, so nothing else
is ever deleted.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import os
import re
import socket
import stat
import time
import uuid
from typing import Any, Callable, Iterator, NoReturn

from corpus_audit.errors import UsageError
from corpus_audit.storage import is_remote

__all__ = ["LOCK_NAME", "LockHeld", "is_lock_file", "lock_directory"]

LOCK_NAME = "corpus-audit.lock"
#: The temporary file a lock is linked from (there only while a run takes the lock).
_LOCK_TEMP = re.compile(rf"^{re.escape(LOCK_NAME)}\.[0-9a-f]{{32}}\.tmp$")
#: A lock file larger than this is not one corpus-audit wrote.
MAX_LOCK_BYTES = 64 * 1024
#: How long a take-over waits for another process' take-over (a few system calls) to end.
TAKE_OVER_WAIT_SECONDS = 5.0
#: How often the lock is tried when it keeps being released and taken between two looks.
_ATTEMPTS = 20


class LockHeld(UsageError):
    """Another run holds the directory's lock (or the lock is damaged)."""


class _Gone(Exception):
    """The lock file disappeared while it was being looked at (its holder released it)."""


def is_lock_file(name: str) -> bool:
    """Whether a top-level name in a run directory belongs to the lock: the lock itself, or the
    temporary file another run is linking it from at this moment (or a killed one left)."""
    return name == LOCK_NAME or bool(_LOCK_TEMP.match(name))


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or a number no process has: not known to be gone
    return True


def _one_line(value: Any) -> str:
    """``value`` as printable text of one line (a lock's fields are whatever the file held)."""
    return "".join(c if c.isprintable() else "?" for c in str(value))[:200]


@contextlib.contextmanager
def lock_directory(directory: str) -> Iterator[None]:
    """Hold ``directory/corpus-audit.lock`` for the block; raise `LockHeld` if another run has
    it (or it is damaged). Creates ``directory`` if needed, and removes what it created if the
    block leaves it empty."""
    if is_remote(directory):
        yield
        return
    lock_path = os.path.join(directory, LOCK_NAME)
    created: list[str] = []
    token: str | None = None

    def give_back() -> None:
        if token is not None:
            _release(lock_path, token)

    try:
        for attempt in range(3):
            _make_directories(directory, created)
            try:
                token = _acquire(directory, lock_path)
                break
            except FileNotFoundError:  # a refused run removed the directory it created just now
                if attempt == 2:
                    raise
        yield
    finally:
        _undo(give_back, lambda: _remove_if_empty(created))


def _undo(*steps: Callable[[], None]) -> None:
    """Run every clean-up step (each idempotent). One that is interrupted (Ctrl-C, a stop
    signal) or fails is run once more, and that interruption is raised once all have run: a
    single interruption never leaves a lock, a temporary file or a directory of ours behind."""
    pending: BaseException | None = None
    for step in steps:
        try:
            step()
        except BaseException as exc:  # noqa: BLE001 - raised below, after the other steps
            pending = pending or exc
            step()
    if pending is not None:
        raise pending


def _make_directories(directory: str, created: list[str]) -> None:
    """Create ``directory`` and its missing parents, adding the ones this call created to
    ``created`` (outermost first; on failure they are removed again)."""
    missing, path = [], os.path.abspath(directory)
    while not os.path.lexists(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    mark = len(created)
    try:
        for path in reversed(missing):
            created.append(path)  # first: an interruption right after the mkdir still finds it
            try:
                os.mkdir(path)
            except FileExistsError:
                created.pop()  # made by someone else meanwhile: not ours to remove
    except BaseException:
        _undo(lambda: _remove_if_empty(created, mark))
        raise


def _remove_if_empty(created: list[str], keep: int = 0) -> None:
    """Remove the directories of ``created[keep:]`` (outermost first) that are empty,
    innermost first; stop at one that is not."""
    while len(created) > keep:
        try:
            os.rmdir(created[-1])  # only an empty directory: never anything else
        except FileNotFoundError:
            pass  # interrupted before it was made, or after it was removed
        except OSError:
            return
        created.pop()


def _acquire(directory: str, lock_path: str) -> str:
    """Take the lock (linking a complete lock file, or taking over a stale one); our token."""
    token = uuid.uuid4().hex
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": _now(), "token": token}
    tmp = os.path.join(directory, f"{LOCK_NAME}.{token}.tmp")
    try:
        _write_new(tmp, json.dumps(holder).encode("utf-8"))
        _link_or_take_over(directory, lock_path, tmp)
        _unlink(tmp)  # linked: the lock keeps its content (taken over: renamed already)
    except BaseException:  # refused, or interrupted (perhaps just after the link): give it back
        _undo(lambda: _release(lock_path, token), lambda: _unlink(tmp))
        raise
    return token


def _link_or_take_over(directory: str, lock_path: str, tmp: str) -> None:
    """Put the lock file ``tmp`` in place at ``lock_path``; raises `LockHeld` if that is not ours to do."""
    for _ in range(_ATTEMPTS):
        try:
            os.link(tmp, lock_path)
            return
        except FileExistsError:
            pass
        try:
            _judge(directory, lock_path)  # raises LockHeld unless stale: no flock for a plain refusal
            _take_over(directory, lock_path, tmp)
            return
        except _Gone:
            continue  # released between our two looks: link again
    raise LockHeld(f"{directory} is in use by other corpus-audit runs (its lock kept changing hands); try again")


def _write_new(path: str, data: bytes) -> None:
    """Write ``data`` to a new file at ``path`` (exclusive create; the caller removes it)."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _take_over(directory: str, lock_path: str, tmp: str) -> None:
    """Replace a stale lock by ours under the directory's flock; raises `LockHeld` when that
    cannot be done safely or the lock is no longer stale, `_Gone` when it was released."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        _cannot_take_over(lock_path, "the directory cannot be opened")
    try:
        deadline = time.monotonic() + TAKE_OVER_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    _cannot_take_over(lock_path, "another process is taking it over")
                time.sleep(0.001)
            except OSError:
                _cannot_take_over(lock_path, "this file system has no flock")
        _judge(directory, lock_path)  # again, under the flock: still stale, so still the dead holder's
        os.rename(tmp, lock_path)  # one step: the lock name is never free in between
    finally:
        os.close(fd)  # releases the flock


def _cannot_take_over(lock_path: str, why: str) -> NoReturn:
    raise LockHeld(f"{lock_path} names a process that has ended, but it could not be taken over safely "
                   f"({why}); delete it if no corpus-audit run is active there")


def _judge(directory: str, lock_path: str) -> dict[str, Any]:
    """The lock's holder if it is stale (a process on this host that is gone); raises
    `LockHeld` for any other lock, `_Gone` if there is none now."""
    holder = _read_holder(lock_path)
    if holder is None:
        raise LockHeld(f"{lock_path} is not a corpus-audit lock (empty or damaged); if no corpus-audit run is "
                       f"active in {directory}, delete it and run again")
    pid = holder["pid"]
    if holder["host"] == socket.gethostname() and pid > 0 and not _process_alive(pid):
        return holder
    who = (f"pid {pid} on host {_one_line(holder['host'])} since {_one_line(holder.get('started', '?'))}")
    raise LockHeld(f"{directory} is in use by another corpus-audit run ({who}); wait for it to end, "
                   f"or delete {lock_path} if no run is active there")


def _read_holder(lock_path: str) -> dict[str, Any] | None:
    """The lock's content if it is a lock (a JSON object with an int pid and a str host);
    None if it is anything else; raises `_Gone` when there is no file."""
    try:
        data = _read_small(lock_path)
    except FileNotFoundError:
        raise _Gone from None
    except OSError:
        return None  # a link, a directory, unreadable: not a lock we can judge
    try:
        holder = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if (not isinstance(holder, dict) or type(holder.get("pid")) is not int
            or not isinstance(holder.get("host"), str)):
        return None
    return holder


def _read_small(path: str) -> bytes:
    """A regular file's bytes (never following a link, never blocking on a FIFO); OSError for
    anything else or a file over `MAX_LOCK_BYTES`."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        chunks, size = [], 0
        while size <= MAX_LOCK_BYTES:
            chunk = os.read(fd, MAX_LOCK_BYTES + 1 - size)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        raise OSError(errno.EFBIG, "too large for a lock", path)
    finally:
        os.close(fd)


def _release(lock_path: str, token: str) -> None:
    """Remove the lock if it is still ours (our token in it); leave anything else alone.

    Safe without the flock: while we live nobody else can replace our lock (see the module
    docstring), so the file we read our token in is the file we remove."""
    with contextlib.suppress(OSError, _Gone):
        holder = _read_holder(lock_path)
        if holder is not None and holder.get("token") == token and holder["pid"] == os.getpid():
            os.unlink(lock_path)
