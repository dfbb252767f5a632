"""dolma attribute files (``--attributes dolma``): the run's per-document results, line-aligned
with each JSON-lines input, so ``dolma mix`` (and anything reading dolma's format) can filter on them.

For an input ``…/documents/part-0.json.gz`` (or ``ROOT/part-0.jsonl.gz`` below the inputs'
common folder) the attribute file is ``OUT/attributes/corpus-audit/part-0.json.gz`` (the same
relative path and compression), with one JSON line per input line::

    {"id": "<doc id>", "attributes": {"corpus_audit__language_en": [[0, 512, 0.98]], ...}}

Every span covers the whole document, ``[0, len(text), value]`` (``len`` in code points):

* ``corpus_audit__language_<code>``: the language score (one key: the document's language);
* ``corpus_audit__<flag>`` for each pronoun flag (``doc_has_she_pronoun``, ...): 1.0 / 0.0;
* ``corpus_audit__holistic_bias_<axis>``: 1.0 for each HolisticBias axis the document mentions;
* ``corpus_audit__gender_gap_<tokens|masculine|feminine|unspecified>``: counts;
* ``corpus_audit__toxicity``: the toxicity score, when it was computed;
* for any other stage, what it declares (`Analysis.dolma_attributes`; by default each of its
  number and flag columns under the column's name): every stage declares its own.

Blank, skipped and unread (past ``--limit``) lines get ``"attributes": {}`` (and the id of the
skip record, or null), so line N of an attribute file is always line N of its input.

Why after the run rather than per split: the rows are final only then (with a toxicity stage
they are written after RunInference, out of split order), a run restored from checkpoints has
them too, and the attribute file needs each document's text length and every input line —
blank ones included — which ``documents/`` does not keep. So this pass streams each input
once more (lines only, no analysis: I/O and JSON parsing) and joins ``documents/*.parquet``
rows on ``(shard, position)``; the position of a JSONL document is its line number.
Only JSON-lines inputs get attribute files (dolma's documents are JSON lines).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import posixpath
from dataclasses import dataclass
from typing import Any, Iterable

import orjson

from corpus_audit.rundir.paths import distinct_relative_paths, output_path
from corpus_audit.storage import AtomicFile, is_remote, join, list_files, read_bytes

__all__ = ["ATTRIBUTE_PREFIX", "ATTRIBUTES_DIR", "AttributeFile", "add_arguments", "attribute_path",
           "attribute_paths",
           "document_attributes", "write_dolma_attributes"]

#: Where the files go inside the run directory (dolma's ``attributes/<experiment>/``).
ATTRIBUTES_DIR = posixpath.join("attributes", "corpus-audit")
#: Prefix of every attribute name (dolma's ``<tagger>__<name>``).
ATTRIBUTE_PREFIX = "corpus_audit__"
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_COMPRESSION = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}


@dataclass(frozen=True)
class AttributeFile:
    """One attribute file written: its input, its path and how many lines/documents it holds."""

    input: str
    path: str
    lines: int
    documents: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--attributes dolma`` for ``corpus-audit run``."""
    parser.add_argument("--attributes", choices=["dolma"], default=None,
                        help="also write per-document attribute files line-aligned with each JSON-lines input "
                             "(dolma's format) under OUTPUT/attributes/corpus-audit/")


def document_attributes(row: dict[str, Any], length: int, analyses: Iterable[Any]) -> dict[str, list[list[Any]]]:
    """The dolma attributes of one ``documents/`` row, each a whole-document span: what each
    analysis declares (`Analysis.dolma_attributes`), in run order, under `ATTRIBUTE_PREFIX`."""
    return {ATTRIBUTE_PREFIX + name: [[0, length, value]]
            for analysis in analyses for name, value in analysis.dolma_attributes(row).items()}


def run_analyses(output_dir: str) -> list[Any]:
    """The stages a finished run ran (``summary.json``), built with their default options: what
    declares their attributes when the caller has not the run's own."""
    from corpus_audit.transforms import STAGES

    settings = json.loads(read_bytes(join(output_dir, "summary.json"))).get("settings", {})
    return [STAGES[name].from_options(STAGES[name].Options()) for name in settings.get("stages", STAGES)
            if name in STAGES]


def attribute_path(output_dir: str, input_path: str, root: str) -> str:
    """Where the attribute file of ``input_path`` goes: its path after the last ``documents/``
    folder (dolma's layout), else relative to ``root`` (the inputs' common folder). A path that
    could leave the run directory (``..``, ``%2e%2e``, backslashes, ...) gets a stable safe name
    instead (`corpus_audit.rundir.paths`)."""
    return attribute_paths(output_dir, [input_path], root)[input_path]


def attribute_paths(output_dir: str, inputs: Iterable[str], root: str | None = None) -> dict[str, str]:
    """`attribute_path` of each input, distinct for distinct inputs: two inputs that would share
    a file (``a/documents/p.jsonl`` and ``b/documents/p.jsonl``) both get their stable safe names.
    ``root``: the inputs' common folder (default: computed from ``inputs``)."""
    inputs = list(inputs)
    root = _common_folder(inputs) if root is None else root
    relative = distinct_relative_paths({path: _relative_parts(path, root) for path in inputs})
    return {path: output_path(output_dir, *ATTRIBUTES_DIR.split("/"), *relative[path].split("/"))
            for path in inputs}


def _relative_parts(input_path: str, root: str) -> list[str]:
    """The components of ``input_path`` below its last ``documents/`` folder, else below ``root``."""
    parts = _parts(input_path)
    if "documents" in parts[:-1]:
        last = len(parts) - 1 - parts[::-1].index("documents")
        relative = parts[last + 1:]
    else:
        relative = parts[len(_parts(root)):] if root else parts[-1:]
    # A URL's "scheme://" (inputs of several schemes): the folder "scheme:" it always was on disk.
    return [part[:-2] if part.endswith("://") else part for part in relative]


def write_dolma_attributes(output_dir: str, inputs: Iterable[str] | None = None,
                           analyses: Iterable[Any] | None = None) -> list[AttributeFile]:
    """Write the attribute file of every JSON-lines input of the finished run in ``output_dir``.

    ``inputs``: the run's input files (the CLI passes its plan's); default: every shard that
    appears in ``documents/`` or ``skipped/``. ``analyses``: the run's stages (they declare their
    attributes; default: `run_analyses`). The text field comes from ``summary.json``; ids from the
    run's rows (so a missing id is the reader's ``<shard>:<line>`` fallback, as in ``documents/``).
    """
    analyses = list(analyses) if analyses is not None else run_analyses(output_dir)
    settings = json.loads(read_bytes(join(output_dir, "summary.json"))).get("settings", {})
    text_field = settings.get("text_field", "text")
    rows = _document_rows(output_dir)
    skipped = _skip_ids(output_dir)
    files = sorted(set(inputs) if inputs is not None else set(rows) | set(skipped))
    files = [path for path in files if _is_jsonl(path)]
    targets = attribute_paths(output_dir, files)
    written = []
    for path in files:
        target = targets[path]
        lines, documents = _write_one(path, target, rows.get(path, {}), skipped.get(path, {}), text_field, analyses)
        written.append(AttributeFile(path, target, lines, documents))
    return written


# -- internals -------------------------------------------------------------------------------------


def _write_one(path: str, target: str, rows: dict[int, dict], skips: dict[int, Any],
               text_field: str, analyses: list[Any]) -> tuple[int, int]:
    """Stream ``path``'s lines into ``target``: (lines written, documents with attributes)."""
    from corpus_audit.readers.compression import bounded_lines, open_decompressed, stream_errors

    lines = documents = 0
    with _open_output(target) as out:
        try:
            stream, raw = open_decompressed(path)
            with raw, stream:
                for position, line in enumerate(bounded_lines(stream, 1 << 30)):
                    row = rows.get(position)
                    if row is None:
                        record = {"id": skips.get(position), "attributes": {}}
                    else:
                        length = _text_length(line, text_field)
                        record = {"id": row["id"], "attributes": document_attributes(row, length, analyses)}
                        documents += 1
                    out.write(orjson.dumps(record) + b"\n")
                    lines += 1
        except stream_errors():
            pass  # a truncated tail: the lines before it are aligned, the rest was never readable
    return lines, documents


def _text_length(line: bytes, text_field: str) -> int:
    try:
        text = orjson.loads(line).get(text_field)
    except (orjson.JSONDecodeError, AttributeError):
        text = json.loads(line.decode("utf-8", "replace")).get(text_field)
    return len(text) if isinstance(text, str) else 0


class _open_output:
    """A binary writer for a local or remote attribute file, compressed like its input, written
    through `corpus_audit.storage.AtomicFile` (a temporary name, renamed when whole: a link put in
    place of the file is replaced, never written through; an error leaves no partial file)."""

    def __init__(self, path: str) -> None:
        self.path = path
        compression = next((kind for suffix, kind in _COMPRESSION.items() if path.lower().endswith(suffix)), None)
        self._file = AtomicFile(path)
        self._raw = self._file.open()
        if compression == "gzip":
            # The header names the file (without .gz) as gzip.open does; no time: byte-identical reruns.
            name = "" if is_remote(path) else path
            self._stream: io.IOBase = gzip.GzipFile(filename=name, fileobj=self._raw, mode="wb", mtime=0)
        elif compression == "zstd":
            import zstandard

            self._stream = zstandard.ZstdCompressor().stream_writer(self._raw, closefd=False)
        else:
            self._stream = self._raw

    def __enter__(self) -> io.IOBase:
        return self._stream

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is not None:
            self._file.abort()
            return
        if self._stream is not self._raw:
            self._stream.close()
        self._file.publish()


def _document_rows(output_dir: str) -> dict[str, dict[int, dict]]:
    """``documents/*.parquet`` rows by shard, then position."""
    import pyarrow.parquet as pq

    by_shard: dict[str, dict[int, dict]] = {}
    for path in list_files(join(output_dir, "documents"), "*.parquet"):
        source = io.BytesIO(read_bytes(path)) if is_remote(path) else path
        for row in pq.read_table(source).to_pylist():
            by_shard.setdefault(row["shard"], {})[row["position"]] = row
    return by_shard


def _skip_ids(output_dir: str) -> dict[str, dict[int, Any]]:
    """The id of each skipped record (None when it had none) by shard, then position."""
    by_shard: dict[str, dict[int, Any]] = {}
    for path in list_files(join(output_dir, "skipped"), "*.jsonl"):
        for line in read_bytes(path).splitlines():
            if line.strip():
                record = orjson.loads(line)
                by_shard.setdefault(record["shard"], {})[record["position"]] = record.get("id")
    return by_shard


def _is_jsonl(path: str) -> bool:
    lower = path.lower()
    for suffix in _COMPRESSION:
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
            break
    return lower.endswith(_JSONL_SUFFIXES)


def _parts(path: str) -> list[str]:
    """Path components; a URL's scheme and host are its first component."""
    if "://" in path:
        scheme, rest = path.split("://", 1)
        return [f"{scheme}://"] + [part for part in rest.split("/") if part]
    return [part for part in os.path.abspath(path).split(os.sep) if part]


def _common_folder(paths: list[str]) -> str:
    """The deepest folder holding every path ("" for none)."""
    folders = [_parts(path)[:-1] for path in paths]
    if not folders:
        return ""
    common: list[str] = []
    for level in zip(*folders):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    if common and common[0].endswith("://"):
        return common[0] + "/".join(common[1:])
    return os.sep + os.sep.join(common)
