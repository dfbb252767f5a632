"""What a run owns in its ``--output`` directory: a manifest of the files it wrote, and a lock.

A run never deletes or overwrites a file it did not write:

* ``corpus-audit-run.json`` (the manifest) is written when a run starts (``status: running``)
  and again when it ends (``complete``, ``incomplete`` after a write error, ``interrupted``
  after Ctrl-C), listing every file the run left under ``summary.json``, ``accumulators.json``, ``tables/``,
  ``documents/``, ``skipped/``, ``plots/`` and ``datasheet.*``.
* A later run into the same directory deletes only those files. A directory holding anything
  else, or a symbolic link anywhere, is refused; so is a *complete* run unless ``--overwrite``.
  A run killed before it could list its files (SIGKILL, power loss) is recognised by its
  manifest's ``running`` status; then only files named the way a run names its outputs count
  as its own.
* A file written into the run directory after the run (the Hub card ``README.md``) is added to
  the manifest's ``files`` with its sha256 under ``digests`` (a manifest without ``digests``, as
  older runs wrote, still loads). A file whose content no longer matches its recorded digest was
  edited by someone: ``--overwrite`` then refuses the directory and deletes nothing.
* ``corpus-audit.lock`` is held for the whole run (`corpus_audit.rundir.lock`: created with its
  content in one step, with the PID and host). A second run is refused while the first holds it;
  a lock whose process is gone on this host is stale and taken over atomically; a damaged lock is
  refused, never taken over. Locks cover local directories (object stores have no exclusive create).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
import uuid
from typing import Any

from corpus_audit.errors import UsageError
from corpus_audit.rundir.lock import LOCK_NAME, LockHeld, is_lock_file, lock_directory  # the first three re-exported
from corpus_audit.storage import is_remote, join

__all__ = ["DIGESTS_KEY", "LOCK_NAME", "MANIFEST_NAME", "RUN_OUTPUTS", "LockHeld", "RunDirectory", "file_sha256",
           "lock_directory", "read_manifest", "recorded_digests"]

MANIFEST_NAME = "corpus-audit-run.json"
#: Top-level names a run writes in its output directory.
RUN_OUTPUTS = ("summary.json", "accumulators.json", "tables", "documents", "skipped", "plots", "attributes",
               "datasheet.md", "datasheet.html", "README.md", "corpus-audit-error.log", "datasheet-metadata.yaml")
STATUS_RUNNING, STATUS_COMPLETE = "running", "complete"
STATUS_INCOMPLETE, STATUS_INTERRUPTED = "incomplete", "interrupted"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
#: The manifest key mapping a relative path to the sha256 of the content corpus-audit wrote there.
DIGESTS_KEY = "digests"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# How a run names its outputs (split keys: <stem>-<16 hex>-<5 digits>; tables: letters, digits, _;
# skipped/: Beam's text sink, with its beam-temp-* staging folder), with an optional temporary suffix.
_SPLIT_KEY = r"[A-Za-z0-9_-][A-Za-z0-9._-]*-[0-9a-f]{16}-[0-9]{5}"
_OWN_NAME = re.compile(
    rf"^(summary\.json|accumulators\.json|corpus-audit-error\.log|datasheet-metadata\.yaml|datasheet\.(md|html)"
    rf"|documents/{_SPLIT_KEY}\.parquet"
    r"|skipped/skipped-[0-9]{5}-of-[0-9]{5}\.jsonl|skipped/beam-temp-skipped-[0-9a-f]+/[^/]+"
    r"|tables/[A-Za-z0-9][A-Za-z0-9_]*\.(csv|parquet|md)|plots/[A-Za-z0-9_]+\.(png|svg)|attributes/corpus-audit/.+)(\.[0-9a-f]{12,32})?(\.tmp)?$")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _read_json(path: str) -> Any:
    with open(path, "rb") as f:
        data = f.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise ValueError("too large")
    return json.loads(data.decode("utf-8"))


def read_manifest(directory: str) -> dict[str, Any] | None:
    """The run manifest of ``directory`` (None when there is none); raises UsageError if damaged."""
    path = join(directory, MANIFEST_NAME)
    try:
        if is_remote(directory):
            from apache_beam.io.filesystems import FileSystems

            if not FileSystems.exists(path):
                return None
            with FileSystems.open(path) as f:
                manifest = json.loads(f.read(MAX_MANIFEST_BYTES).decode("utf-8"))
        else:
            if not os.path.lexists(path):
                return None
            manifest = _read_json(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is damaged ({type(exc).__name__}); choose a new output directory") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise UsageError(f"{path} is not a corpus-audit run manifest; choose a new output directory")
    return manifest


def file_sha256(path: str) -> str:
    """The sha256 (hex) of the file at ``path`` (local or remote), read in chunks."""
    digest = hashlib.sha256()
    if is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        opened: Any = FileSystems.open(path)
    else:
        opened = open(path, "rb")
    with opened as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_digests(manifest: dict[str, Any] | None) -> dict[str, str]:
    """The well-formed ``digests`` of a manifest (relative path → sha256 hex); empty for a manifest
    without them."""
    digests = (manifest or {}).get(DIGESTS_KEY)
    if not isinstance(digests, dict):
        return {}
    return {name: value for name, value in digests.items()
            if isinstance(name, str) and isinstance(value, str) and _SHA256.match(value)}


class RunDirectory:
    """The ``--output`` directory of one run: what may be cleared, and the manifest it leaves."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.remote = is_remote(directory)
        self.run_id = uuid.uuid4().hex

    # -- listing -------------------------------------------------------------------------
    def _entries(self) -> tuple[list[str], list[str]]:
        """(relative file paths, relative paths of symbolic links) under the directory."""
        if self.remote:
            from apache_beam.io.filesystems import FileSystems

            prefix = self.directory.rstrip("/") + "/"
            found = FileSystems.match([prefix + "**"])[0].metadata_list
            return sorted(m.path[len(prefix):] for m in found), []
        files, links = [], []
        for top, dirs, names in os.walk(self.directory, followlinks=False):
            relative_top = os.path.relpath(top, self.directory)
            for name in [*dirs, *names]:
                relative = name if relative_top == "." else os.path.join(relative_top, name)
                path = os.path.join(top, name)
                if os.path.islink(path):
                    links.append(relative.replace(os.sep, "/"))
                elif name in names:
                    files.append(relative.replace(os.sep, "/"))
        return sorted(files), sorted(links)

    def owned_files(self) -> list[str]:
        """Relative paths of the run outputs present now (for the manifest at the end of a run)."""
        files, _ = self._entries()
        return [f for f in files if f.split("/", 1)[0] in RUN_OUTPUTS]

    # -- before a run --------------------------------------------------------------------
    def prepare(self, overwrite: bool) -> None:
        """Refuse a directory that is not safely ours to replace; then delete a previous run's files."""
        if not self.remote and os.path.lexists(self.directory) and not os.path.isdir(self.directory):
            raise UsageError(f"output path exists and is not a directory: {self.directory}")
        if not self.remote and os.path.islink(self.directory.rstrip(os.sep)):
            raise UsageError(f"output directory {self.directory} is a symbolic link; give the real path")
        files, links = self._entries() if self.remote or os.path.isdir(self.directory) else ([], [])
        files = [f for f in files if f != MANIFEST_NAME and not is_lock_file(f)]
        if links:
            raise UsageError(f"output directory {self.directory} holds a symbolic link ({links[0]}); corpus-audit "
                             "never follows links when replacing a run: remove it or choose a new directory")
        manifest = read_manifest(self.directory)
        if manifest is None:
            if files:
                raise UsageError(f"output directory {self.directory} holds files a corpus-audit run did not write "
                                 f"(e.g. {files[0]}); choose a new or empty directory")
            return
        status = manifest.get("status")
        if status == STATUS_COMPLETE and not overwrite:
            raise UsageError(f"output directory {self.directory} holds a completed audit (finished "
                             f"{manifest.get('finished', '?')}); pass --overwrite to replace it, or choose a new "
                             "directory")
        listed = {f for f in manifest["files"] if isinstance(f, str)}
        ours = [f for f in files if f in listed or (status != STATUS_COMPLETE and _OWN_NAME.match(f))]
        foreign = sorted(set(files) - set(ours))
        if foreign:
            raise UsageError(f"output directory {self.directory} holds files a corpus-audit run did not write "
                             f"(e.g. {foreign[0]}); nothing was deleted: move them or choose a new directory")
        digests = recorded_digests(manifest)
        for name in ours:
            if name in digests and file_sha256(join(self.directory, *name.split("/"))) != digests[name]:
                raise UsageError(f"output directory {self.directory}: {name} was edited since corpus-audit wrote it; "
                                 "nothing was deleted: move it or choose a new directory")
        self._delete(ours + [MANIFEST_NAME])

    def _delete(self, relative_paths: list[str]) -> None:
        paths = [join(self.directory, *p.split("/")) for p in relative_paths]
        if self.remote:
            from apache_beam.io.filesystems import FileSystems

            existing = [p for p in paths if FileSystems.exists(p)]
            if existing:
                FileSystems.delete(existing)
            return
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)  # files only: a directory is never removed with its contents
        for name in RUN_OUTPUTS:
            path = os.path.join(self.directory, name)
            if os.path.isdir(path) and not os.path.islink(path):
                for top, _, _ in sorted(os.walk(path), key=lambda entry: -len(entry[0])):
                    with contextlib.suppress(OSError):
                        os.rmdir(top)  # only if empty

    # -- the manifest --------------------------------------------------------------------
    def write_manifest(self, status: str, run_info: dict[str, Any] | None = None) -> None:
        """Record the run's status and every output file present now."""
        manifest: dict[str, Any] = {
            "tool": "corpus-audit",
            "run_id": self.run_id,
            "status": status,
            "updated": _now(),
            "files": [] if status == STATUS_RUNNING else self.owned_files(),
        }
        if status == STATUS_COMPLETE:
            manifest["finished"] = manifest["updated"]
        if run_info:
            manifest.update({k: v for k, v in run_info.items() if k not in manifest})
        from corpus_audit.storage import write_bytes

        write_bytes(join(self.directory, MANIFEST_NAME), json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))


def own_files(directory: str, written: dict[str, bytes], removed: list[str] | tuple[str, ...] = ()) -> None:
    """List the files ``written`` (relative path → the bytes written there) among the run's files in
    its manifest, with their sha256, and drop the ``removed`` ones, so that a later run with
    --overwrite replaces what the tool wrote into a finished run (reports, a card, kept metadata,
    an error log) rather than refusing it as a foreign file, and refuses a file once someone has
    edited it.

    Nothing is recorded for a directory without a manifest, nor for a run still running (its own
    report, written before the run lists its files at the end)."""
    import hashlib

    from corpus_audit.storage import write_bytes

    manifest = read_manifest(directory)
    if manifest is None or manifest.get("status") == STATUS_RUNNING:
        return
    gone = set(removed) - set(written)
    listed = {name for name in manifest["files"] if isinstance(name, str)}
    manifest["files"] = sorted((listed - gone) | set(written))
    digests = {name: value for name, value in recorded_digests(manifest).items() if name not in gone}
    digests.update({name: hashlib.sha256(data).hexdigest() for name, data in written.items()})
    manifest[DIGESTS_KEY] = dict(sorted(digests.items()))
    write_bytes(join(directory, MANIFEST_NAME), json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))


def record_owned_file(directory: str, name: str, data: bytes) -> None:
    """Write ``name`` (a path relative to the run directory) and list it as the run's own (`own_files`)."""
    from corpus_audit.storage import write_bytes

    write_bytes(join(directory, *name.split("/")), data)
    own_files(directory, {name: data})
