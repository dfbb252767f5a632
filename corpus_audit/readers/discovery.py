"""Finding inputs: files, directories, globs and ``gs://`` prefixes → `InputFile`s.

Files are recognised by suffix (`detect_format`, from the registered formats), saved HF
datasets by their marker files (which must parse; a `DatasetDict`'s splits must be plain
names inside its directory). Files found in a directory or glob whose suffix no format
reads, and hidden files, are returned as "ignored" so the run can report them.

Only regular files are read: a FIFO, a device, a socket (or a link to one, such as
``/dev/zero``) would block or never end, so it is listed as a `SpecialFile` with its kind,
also when named directly. A local file (or saved dataset) reached by more than one name —
a link beside its target, a linked directory beside the real one, one file given twice —
is read once, identified by ``(st_dev, st_ino)``; the other names are `DuplicateInput`s.
Paths in these lists are `display_path`s (always writable as UTF-8); `InputFile.path` is
the path to open, which may hold surrogate escapes for a file name that is not UTF-8.

A corpus-audit run directory (a folder holding a run's manifest or lock) is never read as
corpus: found in a directory, a glob or below a URL prefix it is skipped whole and listed as a
`SpecialFile` of kind `RUN_DIRECTORY_KIND`; named as an input (or a file inside one named) it is
an `InputError`. Otherwise a second audit of a folder would read the first one's
``documents/*.parquet`` (and tables, summary, skip records) as documents.
"""

from __future__ import annotations

import glob as globlib
import json
import os
import stat
from dataclasses import dataclass, field
from typing import Callable, Iterator

from corpus_audit import remote
from corpus_audit.documents import display_path
from corpus_audit.errors import InputError
from corpus_audit.readers.base import ReadConfig, suffix_formats, supported_suffixes
from corpus_audit.readers.hf_dataset import FORMAT_HF
from corpus_audit.storage import is_remote

__all__ = ["DuplicateInput", "InputDiscovery", "InputFile", "RUN_DIRECTORY_KIND", "RUN_DIRECTORY_LINK_KIND",
           "RUN_DIRECTORY_MARKERS", "SpecialFile", "check_text_field", "detect_format", "discover_inputs",
           "expand_inputs", "special_kind"]

_GLOB_CHARS = set("*?[")
_HF_DATASET_MARKERS = ("state.json", "dataset_info.json")
_HF_DATASET_DICT_MARKER = "dataset_dict.json"

#: The files that make a folder a corpus-audit run directory: its manifest and its lock
#: (`corpus_audit.rundir.run_directory`'s MANIFEST_NAME and LOCK_NAME; readers may not import
#: rundir, and a test checks that the names agree).
RUN_DIRECTORY_MARKERS = ("corpus-audit-run.json", "corpus-audit.lock")
#: `SpecialFile.kind` of a run directory found among the inputs (skipped whole).
RUN_DIRECTORY_KIND = "corpus-audit run directory"
#: `SpecialFile.kind` of a link (file or folder) found among the inputs that leads into one.
RUN_DIRECTORY_LINK_KIND = "link into a corpus-audit run directory"

_SPECIAL_KINDS = ((stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                  (stat.S_ISSOCK, "socket"))


@dataclass(frozen=True)
class InputFile:
    """One input to read: a file (or saved HF dataset directory) and its reader format."""

    path: str
    format: str


@dataclass(frozen=True)
class SpecialFile:
    """An input that is not a regular file (never opened): its path and kind (``fifo``,
    ``character device``, ``block device``, ``socket``, ``broken symbolic link``)."""

    path: str
    kind: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "kind": self.kind}


@dataclass(frozen=True)
class DuplicateInput:
    """A name that reaches a local file already read under the name ``same_as``."""

    path: str
    same_as: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "same_as": self.same_as}


@dataclass
class InputDiscovery:
    """What the INPUT arguments expand to: the inputs to read (sorted) and what is not read."""

    inputs: list[InputFile] = field(default_factory=list)
    #: Files found in directories/globs with an unsupported suffix, or hidden (display paths).
    ignored: list[str] = field(default_factory=list)
    special_files: list[SpecialFile] = field(default_factory=list)
    duplicates: list[DuplicateInput] = field(default_factory=list)


def detect_format(path: str) -> str | None:
    """The reader format for a file name, or None when the suffix is not supported."""
    lower = path.lower()
    for suffix, fmt in suffix_formats():
        if lower.endswith(suffix):
            return fmt
    return None


def special_kind(mode: int) -> str | None:
    """The kind of a non-regular, non-directory file mode (None for regular files and directories)."""
    for test, kind in _SPECIAL_KINDS:
        if test(mode):
            return kind
    return None


def expand_inputs(inputs: list[str]) -> tuple[list[InputFile], list[str]]:
    """`discover_inputs`' inputs and ignored files (special files and duplicates left out)."""
    found = discover_inputs(inputs)
    return found.inputs, found.ignored


def discover_inputs(inputs: list[str]) -> InputDiscovery:
    """Resolve files, directories and globs into input files, sorted and each read once.

    Raises `InputError` when an argument matches nothing usable (saying so when it found
    files, none of a supported format), or names a saved dataset whose markers are broken.
    """
    discovery = _Discovery()
    for raw in inputs:
        before = discovery.counts()
        matched = discovery.remote(raw) if is_remote(raw) else discovery.local(raw)
        for item in matched:
            discovery.found.setdefault(item.path, item)
        ignored, special, duplicates = (after - start for after, start in zip(discovery.counts(), before))
        if not matched and not special and not duplicates:
            if ignored:
                raise InputError(f"{raw}: {ignored} file{'s' if ignored != 1 else ''} found, none of a supported "
                                 f"format (suffixes {', '.join(sorted(supported_suffixes()))}, or a saved "
                                 "Hugging Face dataset directory)")
            raise InputError(f"no input matched {raw!r}")
    result = discovery.result
    result.inputs = sorted(discovery.found.values(), key=lambda item: item.path)
    return result


class _Discovery:
    """State of one `discover_inputs` call: what was found, and each local file's identity."""

    def __init__(self) -> None:
        self.result = InputDiscovery()
        self.found: dict[str, InputFile] = {}
        self._identities: dict[tuple[int, int], str] = {}
        self._special_paths: set[str] = set()
        self._special_hits = 0  # every time a special file is met, also one listed before
        self._run_dirs: dict[str, str | None] = {}  # folder -> the run directory holding it (or None)

    def counts(self) -> tuple[int, int, int]:
        return len(self.result.ignored), self._special_hits, len(self.result.duplicates)

    def local(self, raw: str) -> list[InputFile]:
        """Inputs of a local path or glob; a file named directly must have a supported suffix,
        and nothing named directly may be (or lie in) a corpus-audit run directory."""
        globbed = bool(_GLOB_CHARS & set(raw))
        candidates = sorted(globlib.glob(raw, recursive=True)) if globbed else [raw]
        matched: list[InputFile] = []
        for candidate in candidates:
            path = os.path.abspath(candidate)
            run_directory = self._run_directory_of(path)
            if run_directory is not None:
                if not globbed:
                    raise InputError(_run_directory_message(raw, path, run_directory))
                self._special(display_path(run_directory), RUN_DIRECTORY_KIND)
                continue
            info = self._stat(path)
            if info is None:
                continue
            if stat.S_ISDIR(info.st_mode):
                matched.extend(self._directory(path, info))
            elif stat.S_ISREG(info.st_mode):
                fmt = detect_format(path)
                if fmt is None:
                    raise InputError(
                        f"unsupported input file {display_path(raw)!r}: expected one of "
                        f"{', '.join(supported_suffixes())} or a saved Hugging Face dataset directory"
                    )
                if self._first(path, info):
                    matched.append(InputFile(path, fmt))
        return matched

    def _enclosing_run_directory(self, path: str) -> str | None:
        """The nearest folder holding ``path`` (``path`` itself when a folder) that is a run
        directory, or None; each folder is looked at once per discovery."""
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        visited: list[str] = []
        found: str | None = None
        while True:
            if folder in self._run_dirs:
                found = self._run_dirs[folder]
                break
            visited.append(folder)
            if _is_run_directory(folder):
                found = folder
                break
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
        for seen in visited:
            self._run_dirs[seen] = found
        return found

    def _stat(self, path: str, in_directory: bool = False) -> os.stat_result | None:
        """``stat`` following links; a special file is recorded (and None returned)."""
        try:
            info = os.stat(path)
        except OSError:
            if in_directory and os.path.islink(path):
                self._special(path, "broken symbolic link")
            return None
        kind = special_kind(info.st_mode)
        if kind is not None:
            self._special(path, kind)
            return None
        return info

    def _special(self, path: str, kind: str) -> None:
        self._special_hits += 1
        if path not in self._special_paths:
            self._special_paths.add(path)
            self.result.special_files.append(SpecialFile(display_path(path), kind))

    def _first(self, path: str, info: os.stat_result) -> bool:
        """Whether this is the first name reaching this file; a later one is a duplicate."""
        identity = (info.st_dev, info.st_ino)
        first = self._identities.setdefault(identity, path)
        if first == path and path not in self.found:
            return True
        self.result.duplicates.append(DuplicateInput(display_path(path), display_path(first)))
        return False

    def _directory(self, path: str, info: os.stat_result) -> list[InputFile]:
        """A saved HF dataset, or every supported, non-hidden regular file below ``path``;
        run directories (and links into one) are skipped and listed as special files."""
        hf = _hf_inputs(path)
        if hf is not None:
            return [item for item in hf if self._first(item.path, os.stat(item.path))]
        matched: list[InputFile] = []
        for full in _walk_files(path, self._walked_run_directory):
            if os.path.islink(full) and self._run_directory_of(full) is not None:
                self._special(display_path(full), RUN_DIRECTORY_LINK_KIND)  # a link to another run's file
                continue
            hidden = any(part.startswith(".") for part in os.path.relpath(full, path).split(os.sep))
            fmt = None if hidden else detect_format(full)
            if not fmt:
                self.result.ignored.append(display_path(full))
                continue
            file_info = self._stat(full, in_directory=True)
            if file_info is not None and self._first(full, file_info):
                matched.append(InputFile(full, fmt))
        return matched

    def _walked_run_directory(self, root: str, real: str, files: list[str]) -> bool:
        """Whether the walk must skip folder ``root`` (resolved: ``real``): it holds a run's
        manifest or lock, or is reached through a link into a run directory (then recorded)."""
        if not set(RUN_DIRECTORY_MARKERS).isdisjoint(files):
            self._special(display_path(root), RUN_DIRECTORY_KIND)  # skipped whole: not corpus
            return True
        if real != os.path.abspath(root) and self._enclosing_run_directory(real) is not None:
            self._special(display_path(root), RUN_DIRECTORY_LINK_KIND)
            return True
        return False

    def _run_directory_of(self, path: str) -> str | None:
        """The run directory holding ``path`` (or being it), by its name or once resolved."""
        found = self._enclosing_run_directory(path)
        real = os.path.realpath(path)
        if found is None and real != path:
            found = self._enclosing_run_directory(real)
        return found

    def remote(self, raw: str) -> list[InputFile]:
        """Inputs of a URL, less every object inside a run directory found among them."""
        matched = _remote_inputs(raw, self.result.ignored)
        listed = [item.path for item in matched] + self.result.ignored
        folders = sorted({path.rsplit("/", 1)[0] for path in listed
                          if path.rsplit("/", 1)[-1] in RUN_DIRECTORY_MARKERS})
        if not folders:
            return matched
        bare = raw.split("://", 1)[-1].strip("/")  # memory://a and memory:///a name one folder
        if any(folder.split("://", 1)[-1].strip("/") == bare for folder in folders):
            raise InputError(f"{raw} is a corpus-audit run directory, not a corpus")
        inside = tuple(folder + "/" for folder in folders)
        self.result.ignored[:] = [path for path in self.result.ignored if not path.startswith(inside)]
        for folder in folders:
            self._special(folder, RUN_DIRECTORY_KIND)
        return [item for item in matched if not item.path.startswith(inside)]


def _remote_inputs(raw: str, ignored: list[str]) -> list[InputFile]:
    """Objects matching a URL: a glob, an object, or a "directory" prefix (with or without ``/``)."""
    from apache_beam.io.filesystems import FileSystems  # here: planning local files needs no Beam

    try:
        if remote.handles(raw):  # hf://, s3://, http(s)://, memory://: fsspec (corpus_audit.remote)
            results = remote.expand(raw)
        elif _GLOB_CHARS & set(raw):
            results = FileSystems.match([raw])[0].metadata_list
        else:
            results = [] if raw.endswith("/") else FileSystems.match([raw])[0].metadata_list
            if not results:
                results = FileSystems.match([raw.rstrip("/") + "/**"])[0].metadata_list
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - filesystem errors vary by scheme
        raise InputError(f"cannot list input {raw!r}: {exc}") from exc
    matched: list[InputFile] = []
    for meta in sorted(results, key=lambda m: m.path):
        fmt = detect_format(meta.path)
        if fmt:
            matched.append(InputFile(meta.path, fmt))
        else:
            ignored.append(meta.path)
    return matched


def _is_hf_dataset_dir(path: str) -> bool:
    return all(os.path.isfile(os.path.join(path, m)) for m in _HF_DATASET_MARKERS)


def _marker(path: str, name: str, what: str) -> dict:
    """The JSON object in marker file ``name`` of a saved dataset; `InputError` when it is not one."""
    marker = os.path.join(path, name)
    try:
        with open(marker, "rb") as f:
            data = json.loads(f.read(16 << 20))
    except RecursionError:
        raise InputError(f"saved Hugging Face {what} {display_path(path)}: {name} is nested too deeply") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"saved Hugging Face {what} {display_path(path)}: {name} is not valid JSON "
                         f"({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"saved Hugging Face {what} {display_path(path)}: {name} is not a JSON object")
    return data


def _check_dataset(path: str) -> None:
    """A saved ``Dataset``'s markers parse as JSON objects (`InputError` naming it otherwise)."""
    for name in _HF_DATASET_MARKERS:
        _marker(path, name, "dataset")


def _split_path(path: str, name: object) -> str:
    """The directory of split ``name`` of the DatasetDict at ``path``: a plain name inside it."""
    plain = (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name
             and os.sep not in name and "\0" not in name)
    if plain:
        split = os.path.join(path, name)
        real_root = os.path.realpath(path)
        if os.path.dirname(os.path.realpath(split)) == real_root and _is_hf_dataset_dir(split):
            return split
    raise InputError(f"saved Hugging Face DatasetDict {display_path(path)}: split {name!r} is not a saved "
                     "dataset under a plain name inside the dataset directory (dataset_dict.json)")


def _hf_inputs(path: str) -> list[InputFile] | None:
    """A saved HF ``Dataset`` (one input) or ``DatasetDict`` (one input per split)."""
    if _is_hf_dataset_dir(path):
        _check_dataset(path)
        return [InputFile(path, FORMAT_HF)]
    if os.path.isfile(os.path.join(path, _HF_DATASET_DICT_MARKER)):
        splits = _marker(path, _HF_DATASET_DICT_MARKER, "DatasetDict").get("splits", [])
        if not isinstance(splits, list):
            raise InputError(f"saved Hugging Face DatasetDict {display_path(path)}: \"splits\" in "
                             f"{_HF_DATASET_DICT_MARKER} is not a list")
        inputs: dict[str, InputFile] = {}
        for name in splits:
            split = _split_path(path, name)
            _check_dataset(split)
            inputs.setdefault(split, InputFile(split, FORMAT_HF))
        return list(inputs.values())
    return None


def _walk_files(top: str, skip: Callable[[str, str, list[str]], bool] | None = None) -> Iterator[str]:
    """Every file below ``top`` in sorted order, following symbolic links to directories
    (each real directory once, so a link cycle cannot loop). Hidden files and directories
    are included: the caller lists them as ignored rather than dropping them unseen. A folder
    below ``top`` for which ``skip(folder, its real path, its file names)`` is true is not entered."""
    seen: set[str] = set()
    for root, dirs, files in os.walk(top, followlinks=True):
        real = os.path.realpath(root)
        if real in seen or (root != top and skip is not None and skip(root, real, files)):
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in sorted(files):
            yield os.path.join(root, name)


def _is_run_directory(folder: str) -> bool:
    """Whether ``folder`` holds a corpus-audit manifest or lock (a link to one counts too)."""
    return any(os.path.lexists(os.path.join(folder, name)) for name in RUN_DIRECTORY_MARKERS)


def _run_directory_message(raw: str, path: str, run_directory: str) -> str:
    """The one-line refusal of an input that is (or lies in) a corpus-audit run directory."""
    if path.rstrip("/") == run_directory.rstrip("/"):
        return f"{display_path(raw)} is a corpus-audit run directory, not a corpus"
    return (f"{display_path(raw)} is inside the corpus-audit run directory {display_path(run_directory)}, "
            "not a corpus")


def check_text_field(inputs: list[InputFile], config: ReadConfig) -> None:
    """Fail fast: a Parquet file or saved HF dataset whose schema has no ``--text-field`` column.

    Reads only each file's footer (Parquet) or the dataset's schema; raises `InputError`
    naming the input and the columns it has. An input whose schema cannot be read is left
    to the reader, which counts it as an unreadable file.
    """
    from corpus_audit.readers.hf_dataset import FORMAT_HF as hf
    from corpus_audit.readers.parquet import FORMAT_PARQUET, schema_names

    for item in inputs:
        if item.format not in (FORMAT_PARQUET, hf):
            continue
        try:
            if item.format == FORMAT_PARQUET:
                names = schema_names(item.path)
            else:
                from corpus_audit.readers.hf_dataset import load_hf_dataset

                names = list(load_hf_dataset(item.path).column_names)
        except Exception:  # noqa: BLE001 - reported as unreadable when read
            continue
        if config.text_field not in names:
            kind = "Parquet file" if item.format == FORMAT_PARQUET else "saved Hugging Face dataset"
            raise InputError(f"{kind} {display_path(item.path)} has no column {config.text_field!r} (--text-field); "
                             f"its columns: {', '.join(names) or '(none)'}")
