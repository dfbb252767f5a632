"""Finding inputs: files, directories, globs and ``gs://`` prefixes → `InputFile`s.

Files are recognised by suffix (`detect_format`, from the registered formats), saved HF
datasets by their marker files. Files found in a directory or glob whose suffix no format
reads, and hidden files, are returned as "ignored" so the run can report them.
"""

from __future__ import annotations

import glob as globlib
import json
import os
from dataclasses import dataclass
from typing import Iterator

from apache_beam.io.filesystems import FileSystems

from corpus_audit import remote
from corpus_audit.errors import InputError
from corpus_audit.pipeline.readers.base import suffix_formats, supported_suffixes
from corpus_audit.pipeline.readers.hf_dataset import FORMAT_HF
from corpus_audit.storage import is_remote

__all__ = ["InputFile", "detect_format", "expand_inputs"]

_GLOB_CHARS = set("*?[")
_HF_DATASET_MARKERS = ("state.json", "dataset_info.json")
_HF_DATASET_DICT_MARKER = "dataset_dict.json"


@dataclass(frozen=True)
class InputFile:
    """One input to read: a file (or saved HF dataset directory) and its reader format."""

    path: str
    format: str


def detect_format(path: str) -> str | None:
    """The reader format for a file name, or None when the suffix is not supported."""
    lower = path.lower()
    for suffix, fmt in suffix_formats():
        if lower.endswith(suffix):
            return fmt
    return None


def expand_inputs(inputs: list[str]) -> tuple[list[InputFile], list[str]]:
    """Resolve files, directories and globs into input files, sorted and de-duplicated.

    Returns the inputs and the files that were found inside directories/globs but skipped
    because their suffix is not supported (reported to the user, not silently dropped).
    Raises `InputError` when an input matches nothing usable.
    """
    found: dict[str, InputFile] = {}
    ignored: list[str] = []
    for raw in inputs:
        matched = _remote_inputs(raw, ignored) if is_remote(raw) else _local_inputs(raw, ignored)
        if not matched:
            raise InputError(f"no input matched {raw!r}")
        for item in matched:
            found.setdefault(item.path, item)
    return sorted(found.values(), key=lambda item: item.path), ignored


def _remote_inputs(raw: str, ignored: list[str]) -> list[InputFile]:
    """Objects matching a URL: a glob, an object, or a "directory" prefix (with or without ``/``)."""
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


def _local_inputs(raw: str, ignored: list[str]) -> list[InputFile]:
    """Inputs of a local path or glob; a file named directly must have a supported suffix."""
    candidates = sorted(globlib.glob(raw, recursive=True)) if _GLOB_CHARS & set(raw) else [raw]
    matched: list[InputFile] = []
    for candidate in candidates:
        path = os.path.abspath(candidate)
        if os.path.isdir(path):
            matched.extend(_directory_inputs(path, ignored))
        elif os.path.isfile(path):
            fmt = detect_format(path)
            if fmt is None:
                raise InputError(
                    f"unsupported input file {raw!r}: expected one of "
                    f"{', '.join(supported_suffixes())} or a saved Hugging Face dataset directory"
                )
            matched.append(InputFile(path, fmt))
    return matched


def _directory_inputs(path: str, ignored: list[str]) -> list[InputFile]:
    """A saved HF dataset, or every supported, non-hidden file below ``path``."""
    hf = _hf_inputs(path)
    if hf is not None:
        return hf
    matched: list[InputFile] = []
    for full in _walk_files(path):
        hidden = any(part.startswith(".") for part in os.path.relpath(full, path).split(os.sep))
        fmt = None if hidden else detect_format(full)
        if fmt:
            matched.append(InputFile(full, fmt))
        else:
            ignored.append(full)
    return matched


def _is_hf_dataset_dir(path: str) -> bool:
    return all(os.path.isfile(os.path.join(path, m)) for m in _HF_DATASET_MARKERS)


def _hf_inputs(path: str) -> list[InputFile] | None:
    """A saved HF ``Dataset`` (one input) or ``DatasetDict`` (one input per split)."""
    if _is_hf_dataset_dir(path):
        return [InputFile(path, FORMAT_HF)]
    marker = os.path.join(path, _HF_DATASET_DICT_MARKER)
    if os.path.isfile(marker):
        with open(marker, encoding="utf-8") as f:
            split_names = json.load(f).get("splits", [])
        return [InputFile(os.path.join(path, name), FORMAT_HF) for name in split_names]
    return None


def _walk_files(top: str) -> Iterator[str]:
    """Every file below ``top`` in sorted order, following symbolic links to directories
    (each real directory once, so a link cycle cannot loop). Hidden files and directories
    are included: the caller lists them as ignored rather than dropping them unseen."""
    seen: set[str] = set()
    for root, dirs, files in os.walk(top, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in sorted(files):
            yield os.path.join(root, name)
