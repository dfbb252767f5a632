"""Resume long runs: ``--checkpoint-dir DIR`` keeps each finished split's results.

For every split it finishes, a worker stores in ``DIR`` (local or ``gs://``):

* ``<key>.entry.json``: the split's partial accumulator of every stage, its `ReadAccounting`,
  what it was computed from, and the SHA-256 of the two files below; written last, through
  a temporary name, so its presence means the entry is complete;
* ``<key>.documents.ckpt``: a copy (Parquet) of ``documents/<split>.parquet`` (absent when no
  document of the split was analysed);
* ``<key>.skipped.ckpt``: the split's skip records (JSON lines).

A rerun with the same ``DIR`` restores those splits instead of reading them again: it
copies the documents file back, re-emits the skip records and hands the stored
accumulators to the global combine. Tables are exact merges of per-split accumulators, so
they equal an uninterrupted run's byte for byte.

``<key>`` is the SHA-256 of the split's identity and of the run's settings that change
results: the file's path and *content* hash (not its size and mtime: a file rewritten in
place with the same size and a preserved mtime, e.g. ``cp -p``, would otherwise restore
stale results; the cost is reading each file once more, fast next to analysing it), the
split's row range, and a fingerprint of the stages with their settings (model and lexicon
hashes included), the per-document schema, the read settings (text/id fields, group-by,
size limits) and the corpus-audit version. Any change makes new keys; old entries are
then simply unused.

With a scored stage (toxicity through RunInference) the split-level entries above are not
used: the CPU stages are analysed again on a rerun (they cost a small fraction of the model),
and each *scored batch* is kept instead, as ``<key>.scored.json``: the per-document
predictions of one inference element (score, lines, truncated lines per sampled document;
the stage's integer partials are rebuilt from them exactly). Its ``<key>`` is the SHA-256 of
the element's content (the sampled documents' rows and lines), the run's settings
fingerprint, the stage and the model weights' SHA-256. A rerun restores those batches
instead of scoring them again (`SplitCheckpoints.restore_scored`) and scores only the rest.

Accumulators are stored as JSON with an explicit encoding of their structure (dict, list,
tuple, set, Counter, int, float, str, bool, None, bytes, integer NumPy arrays), never as
pickle: a checkpoint directory is a file a user can swap, and loading it must not run
code. A value this encoding cannot represent exactly (checked by decoding it again) makes
that split uncheckpointed, never wrong. A damaged entry (bad JSON, wrong hashes) is
ignored and the split analysed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from typing import Any, Iterable

from corpus_audit import __version__
# One codec for checkpoints and a run's accumulators.json (moved to the package root).
from corpus_audit.accumulators import CheckpointEncodingError, decode_value, encode_value, same_value as _same
from corpus_audit.accumulators import directory_sha256 as _directory_sha256
from corpus_audit.documents import ReadAccounting, ShardSplit
from corpus_audit.errors import UsageError
from corpus_audit.storage import copy_file, delete, exists, file_sha256, join, read_bytes, write_bytes

__all__ = ["FORMAT_VERSION", "MAX_ENTRY_BYTES", "CheckpointEncodingError", "RestoredSplit", "SplitCheckpoints",
           "decode_value", "encode_value", "plan_checkpoints", "settings_fingerprint"]

LOG = logging.getLogger("corpus_audit")
FORMAT_VERSION = 1
#: Refuse checkpoint JSON larger than this (a corrupt or hostile file, not an accumulator).
MAX_ENTRY_BYTES = 512 * 1024 * 1024


# ----------------------------------------------------------------------------- store


@dataclass(frozen=True)
class RestoredSplit:
    accumulators: dict[str, Any]
    accounting: ReadAccounting
    skipped: list[dict]


def settings_fingerprint(settings: dict[str, Any]) -> str:
    """SHA-256 of the run settings that change results (canonical JSON)."""
    canonical = json.dumps(settings, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _read_bytes(path: str, limit: int = MAX_ENTRY_BYTES) -> bytes:
    data = read_bytes(path, limit)
    if len(data) > limit:
        raise ValueError(f"{path} is larger than {limit} bytes")
    return data


class SplitCheckpoints:
    """The checkpoint directory of a run: look up, restore and store finished splits.

    Picklable (sent to workers): holds only the directory and the settings fingerprint.
    """

    def __init__(self, directory: str, fingerprint: str) -> None:
        self.directory = directory
        self.fingerprint = fingerprint
        self._content_hashes: dict[str, str] = {}

    def __getstate__(self) -> dict:
        return {"directory": self.directory, "fingerprint": self.fingerprint}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["directory"], state["fingerprint"])

    def create_directory(self) -> None:
        """Create a local checkpoint directory (an object-store prefix needs none)."""
        if "://" in self.directory:
            return
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise UsageError(f"--checkpoint-dir exists and is not a directory: {self.directory}")
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create --checkpoint-dir {self.directory}: {exc.strerror or exc}") from exc

    # -- keys ----------------------------------------------------------------------------
    def split_identity(self, split: ShardSplit) -> dict[str, Any]:
        content = self._content_hashes.get(split.path)
        if content is None:  # a Parquet file's several splits hash it once per worker
            content = file_sha256(split.path) if split.format != "hf_dataset" else _directory_sha256(split.path)
            self._content_hashes[split.path] = content
        return {"path": split.path, "format": split.format, "content_sha256": content,
                "row_start": split.row_start, "row_stop": split.row_stop, "split_index": split.split_index}

    def key(self, identity: dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps({"split": identity, "settings": self.fingerprint},
                                         sort_keys=True).encode("utf-8")).hexdigest()

    def _paths(self, key: str) -> tuple[str, str, str]:
        base = join(self.directory, key)
        # Suffixes no reader takes, so a checkpoint directory under an input is never read as input.
        return f"{base}.entry.json", f"{base}.documents.ckpt", f"{base}.skipped.ckpt"

    # -- restore -------------------------------------------------------------------------
    def restore(self, split: ShardSplit, identity: dict[str, Any], documents_path: str) -> RestoredSplit | None:
        """The stored results of ``split`` (its documents file copied to ``documents_path``),
        or None when there is no usable entry."""
        entry_path, parquet_path, skipped_path = self._paths(self.key(identity))
        if not exists(entry_path):
            return None
        try:
            entry = json.loads(_read_bytes(entry_path).decode("utf-8"))
            if entry.get("format_version") != FORMAT_VERSION or entry.get("settings") != self.fingerprint \
                    or entry.get("split") != identity:
                raise ValueError("entry does not match this split and settings")
            skipped_bytes = _read_bytes(skipped_path)
            if hashlib.sha256(skipped_bytes).hexdigest() != entry["skipped_sha256"]:
                raise ValueError("skipped records changed since the checkpoint was written")
            skipped = [json.loads(line) for line in skipped_bytes.decode("utf-8").splitlines() if line]
            if entry["documents_sha256"] is not None and file_sha256(parquet_path) != entry["documents_sha256"]:
                raise ValueError("documents file changed since the checkpoint was written")
            accumulators = {name: decode_value(value) for name, value in entry["accumulators"].items()}
            accounting = ReadAccounting(**{k: decode_value(v) for k, v in entry["accounting"].items()})
        except Exception as exc:  # noqa: BLE001 - any damage: analyse the split again
            LOG.warning("corpus-audit: ignoring checkpoint %s (%s); analysing %s again", entry_path, exc, split.path)
            return None
        if entry["documents_sha256"] is not None:
            copy_file(parquet_path, documents_path)
        elif exists(documents_path):
            delete(documents_path)
        return RestoredSplit(accumulators, accounting, skipped)

    # -- store ---------------------------------------------------------------------------
    def store(self, identity: dict[str, Any], accumulators: dict[str, Any], accounting: ReadAccounting,
              skipped: Iterable[dict], documents_path: str) -> bool:
        """Keep a finished split's results; False (and a warning) when they cannot be stored exactly."""
        entry_path, parquet_path, skipped_path = self._paths(self.key(identity))
        try:
            encoded = {name: encode_value(value) for name, value in accumulators.items()}
            for name, value in accumulators.items():
                if not _same(decode_value(encoded[name]), value):
                    raise CheckpointEncodingError(f"stage {name}'s accumulator does not survive encoding")
            accounting_fields = {k: encode_value(v) for k, v in asdict(accounting).items()}
        except CheckpointEncodingError as exc:
            LOG.warning("corpus-audit: split of %s not checkpointed: %s", identity["path"], exc)
            return False
        skipped_bytes = b"".join(json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
                                 for record in skipped)
        write_bytes(skipped_path, skipped_bytes)
        documents_sha256 = None
        if exists(documents_path):
            copy_file(documents_path, parquet_path)
            documents_sha256 = file_sha256(parquet_path)
        entry = {
            "format_version": FORMAT_VERSION,
            "settings": self.fingerprint,
            "split": identity,
            "accumulators": encoded,
            "accounting": accounting_fields,
            "skipped_sha256": hashlib.sha256(skipped_bytes).hexdigest(),
            "documents_sha256": documents_sha256,
        }
        write_bytes(entry_path, json.dumps(entry, ensure_ascii=True).encode("utf-8"))
        return True

    # -- scored batches --------------------------------------------------------------------
    def scored_key(self, stage: str, content: Any, model_sha256: str) -> str | None:
        """The key of one scored batch: its ``content`` (the element's rows and the sampled
        documents' lines), this run's settings, the stage and the model weights' SHA-256; None
        (the batch is not checkpointed) when the content holds a value the encoding lacks."""
        try:
            encoded = encode_value(content)
        except CheckpointEncodingError as exc:
            LOG.warning("corpus-audit: scored batch not checkpointed: %s", exc)
            return None
        content = hashlib.sha256(json.dumps(encoded, ensure_ascii=True, separators=(",", ":")).encode("utf-8")).hexdigest()
        return hashlib.sha256(json.dumps({"scored": content, "stage": stage, "model_sha256": model_sha256,
                                          "settings": self.fingerprint}, sort_keys=True).encode("utf-8")).hexdigest()

    def _scored_path(self, key: str) -> str:
        return f"{join(self.directory, key)}.scored.json"

    def restore_scored(self, key: str, expected: int) -> list | None:
        """The stored predictions of a scored batch (``expected`` of them: one per sampled
        document with lines), or None when there is no usable entry."""
        path = self._scored_path(key)
        if not exists(path):
            return None
        try:
            entry = json.loads(_read_bytes(path).decode("utf-8"))
            if entry.get("format_version") != FORMAT_VERSION or entry.get("settings") != self.fingerprint \
                    or entry.get("key") != key:
                raise ValueError("entry does not match this batch and settings")
            predictions = decode_value(entry["predictions"])
            if not isinstance(predictions, list) or len(predictions) != expected \
                    or not all(_valid_prediction(p) for p in predictions):
                raise ValueError("predictions do not match the batch")
        except Exception as exc:  # noqa: BLE001 - any damage: score the batch again
            LOG.warning("corpus-audit: ignoring scored-batch checkpoint %s (%s); scoring it again", path, exc)
            return None
        return predictions

    def store_scored(self, key: str, predictions: list) -> bool:
        """Keep a scored batch's predictions; False (and a warning) when they cannot be stored exactly."""
        try:
            encoded = encode_value(predictions)
            if not _same(decode_value(encoded), predictions):
                raise CheckpointEncodingError("predictions do not survive encoding")
        except CheckpointEncodingError as exc:
            LOG.warning("corpus-audit: scored batch not checkpointed: %s", exc)
            return False
        entry = {"format_version": FORMAT_VERSION, "settings": self.fingerprint, "key": key, "predictions": encoded}
        write_bytes(self._scored_path(key), json.dumps(entry, ensure_ascii=True).encode("utf-8"))
        return True


def _valid_prediction(prediction: Any) -> bool:
    """None (a document whose scoring failed) or ``(score in [0, 1], lines >= 1, truncated >= 0)``."""
    if prediction is None:
        return True
    if not isinstance(prediction, tuple) or len(prediction) != 3:
        return False
    score, lines, truncated = prediction
    return (isinstance(score, float) and 0.0 <= score <= 1.0 and type(lines) is int and lines >= 1
            and type(truncated) is int and 0 <= truncated <= lines)


def plan_checkpoints(directory: str, output_dir: str, analyses: list, read_config: Any,
                     limit: int | None) -> SplitCheckpoints:
    """Check ``--checkpoint-dir`` against the run and fingerprint its result-affecting settings.

    Touches nothing (a dry run, or a plan that is never run, leaves no directory behind):
    the directory is created by `SplitCheckpoints.create_directory` when the run starts.
    """
    if limit is not None:
        raise UsageError("--checkpoint-dir cannot be combined with --limit (a limited run reads splits partially)")
    remote = "://" in directory
    directory = directory if remote else os.path.abspath(directory)
    separator = "/" if remote else os.sep
    inside = (directory.rstrip(separator) + separator).startswith(output_dir.rstrip(separator) + separator)
    if inside:
        raise UsageError(f"--checkpoint-dir must not be inside --output (a new run clears {output_dir})")
    settings = {
        "corpus_audit_version": __version__,
        "checkpoint_format": FORMAT_VERSION,
        "read": asdict(read_config),
        "stages": [{"name": analysis.name, "settings": analysis.settings(),
                    "fields": [str(f) for f in analysis.document_fields()]} for analysis in analyses],
    }
    return SplitCheckpoints(directory, settings_fingerprint(settings))
