"""Exact, non-pickle storage of accumulators: the shared codec and a run's ``accumulators.json``.

The codec (`encode_value` / `decode_value`) writes an accumulator as JSON with an explicit tag
for every structure JSON lacks (tuples, sets, dicts with non-string keys, Counters, exact
floats, bytes, integer NumPy arrays), never as pickle: these files are ones a user can swap,
and loading them must not run code. Checkpoints (`corpus_audit.engine.checkpoint`) and the
run directory's ``accumulators.json`` share it.

``accumulators.json`` (`RunAccumulators`) keeps what ``corpus-audit merge`` needs to rebuild a
run's tables exactly from several runs: every stage's combined accumulator, the run's
`ReadAccounting`, each stage's options, the settings that change results (stage settings with
lexicon digests, read settings) and the identity of every input read. Its ``sha256`` is the
digest of the canonical JSON of everything else, so an edited or truncated file is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, fields
from typing import Any

from corpus_audit.documents import ReadAccounting
from corpus_audit.errors import UsageError
from corpus_audit.storage import exists, file_sha256, is_remote, join, read_bytes, write_bytes

__all__ = ["ACCUMULATORS_FILE", "ACCUMULATORS_FORMAT", "ACCUMULATORS_VERSION", "CheckpointEncodingError",
           "EncodingError", "RunAccumulators", "decode_value", "directory_sha256", "encode_value", "input_identity",
           "payload_sha256", "read_accumulators", "same_value"]

#: The file a run keeps its final accumulators in (in its output directory).
ACCUMULATORS_FILE = "accumulators.json"
ACCUMULATORS_FORMAT = "corpus-audit-accumulators"
ACCUMULATORS_VERSION = 1
#: Refuse an accumulators.json larger than this (a corrupt or hostile file, not a run's totals).
MAX_ACCUMULATORS_BYTES = 1024 * 1024 * 1024


class CheckpointEncodingError(ValueError):
    """An accumulator holds a value the encoding (checkpoints, accumulators.json) cannot represent exactly."""


# ----------------------------------------------------------------------------- the codec


def encode_value(value: Any) -> Any:
    """A JSON-ready, type-tagged form of an accumulator (see `decode_value`).

    JSON has no tuples, sets, non-string keys or exact floats, so every container carries a
    tag: ``{"t": [...]}`` tuple, ``{"d": [[k, v], ...]}`` dict (insertion order kept),
    ``{"c": ...}`` Counter, ``{"s": [...]}`` set, ``{"f": "<float.hex>"}``, ``{"b": base64}``,
    ``{"nd": [dtype, shape, values]}`` integer/bool NumPy array. Plain lists, str, int,
    bool and None are themselves.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return {"f": value.hex()}
    if isinstance(value, list):
        return [encode_value(item) for item in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return {"t": [encode_value(item) for item in value]}
    if isinstance(value, Counter):
        return {"c": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if type(value) is dict:
        return {"d": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, (set, frozenset)):
        items = [encode_value(item) for item in value]
        return {"s": sorted(items, key=lambda item: json.dumps(item, sort_keys=True))}
    if isinstance(value, bytes):
        return {"b": base64.b64encode(value).decode("ascii")}
    numpy_type = type(value).__module__.split(".", 1)[0] == "numpy"
    if numpy_type and hasattr(value, "dtype"):
        kind = value.dtype.kind
        if getattr(value, "ndim", 0) == 0:
            return encode_value(value.item())
        if kind in "iub":
            return {"nd": [value.dtype.str, list(value.shape), value.ravel().tolist()]}
        if kind == "f":
            return {"nd": [value.dtype.str, list(value.shape), [float(v).hex() for v in value.ravel().tolist()]]}
    raise CheckpointEncodingError(f"cannot store a {type(value).__module__}.{type(value).__qualname__} exactly")


def decode_value(value: Any) -> Any:
    """The value `encode_value` encoded. Only the tags above are accepted."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    if isinstance(value, dict) and len(value) == 1:
        (tag, body), = value.items()
        if tag == "f" and isinstance(body, str):
            return float.fromhex(body)
        if tag == "t" and isinstance(body, list):
            return tuple(decode_value(item) for item in body)
        if tag == "d" and isinstance(body, list):
            return {decode_value(k): decode_value(v) for k, v in body}
        if tag == "c" and isinstance(body, list):
            return Counter({decode_value(k): decode_value(v) for k, v in body})
        if tag == "s" and isinstance(body, list):
            return {decode_value(item) for item in body}
        if tag == "b" and isinstance(body, str):
            return base64.b64decode(body.encode("ascii"), validate=True)
        if tag == "nd" and isinstance(body, list) and len(body) == 3:
            import numpy as np

            dtype, shape, values = np.dtype(body[0]), body[1], body[2]
            if dtype.kind not in "iubf":
                raise ValueError(f"array dtype {dtype} not allowed (only integer, bool and float arrays)")
            if dtype.kind == "f":
                values = [float.fromhex(v) for v in values]
            return np.array(values, dtype=dtype).reshape(shape)
    raise ValueError(f"not an encoded value: {str(value)[:80]}")


#: The codec's error under its historical (checkpoint) name.
EncodingError = CheckpointEncodingError


def same_value(a: Any, b: Any) -> bool:
    """Exact equality, arrays included (``==`` on NumPy arrays is element-wise)."""
    try:
        return json.dumps(encode_value(a), sort_keys=True) == json.dumps(encode_value(b), sort_keys=True) \
            and type(a) is type(b)
    except CheckpointEncodingError:
        return False


def directory_sha256(path: str) -> str:
    """Content hash of a saved Hugging Face dataset directory (every file, sorted)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            digest.update(os.path.relpath(full, path).encode("utf-8") + b"\0")
            digest.update(file_sha256(full).encode("ascii"))
    return digest.hexdigest()


# ----------------------------------------------------------------------------- accumulators.json


def input_identity(path: str, input_format: str) -> dict[str, Any]:
    """What identifies an input a run read: its path, format, size and content SHA-256 (as
    checkpoints identify splits). A remote input is not read again for it (size and digest None)."""
    if is_remote(path):
        return {"path": path, "format": input_format, "size": None, "content_sha256": None}
    if os.path.isdir(path):
        size = sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)
        return {"path": path, "format": input_format, "size": size, "content_sha256": directory_sha256(path)}
    return {"path": path, "format": input_format, "size": os.path.getsize(path), "content_sha256": file_sha256(path)}


def payload_sha256(payload: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, ASCII, no spaces) of ``payload``."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _plain_json(value: Any) -> Any:
    """``value`` as JSON reads it back (tuples become lists): settings compare equal after a round trip."""
    return json.loads(json.dumps(value, default=str, allow_nan=False))


@dataclass(frozen=True)
class RunAccumulators:
    """A run's ``accumulators.json``: what an exact merge of runs needs.

    ``stages``: stage name → its combined accumulator (as ``extract_output`` gave it: every
    stage's ``merge_accumulators`` takes that form back); ``stage_options``: stage name → its
    ``Options.as_dict()``, in run order; ``settings``: ``{"corpus_audit_version", "read",
    "stages": {name: settings()}}``; ``inputs``: `input_identity` of every input read."""

    stages: dict[str, Any]
    accounting: ReadAccounting
    stage_options: dict[str, dict[str, Any]]
    settings: dict[str, Any]
    inputs: list[dict[str, Any]]

    def payload(self) -> dict[str, Any]:
        """The file's JSON object without its ``sha256``; raises `CheckpointEncodingError` when
        an accumulator or option does not survive the encoding exactly."""
        encoded = {name: encode_value(value) for name, value in self.stages.items()}
        for name, value in self.stages.items():
            if not same_value(decode_value(encoded[name]), value):
                raise CheckpointEncodingError(f"stage {name}'s accumulator does not survive encoding")
        return {"format": ACCUMULATORS_FORMAT, "version": ACCUMULATORS_VERSION,
                # JSON objects are written with sorted keys: the run order of the stages is kept here.
                "stage_order": list(self.stages), "stages": encoded,
                "accounting": {k: encode_value(v) for k, v in asdict(self.accounting).items()},
                "stage_options": {name: encode_value(options) for name, options in self.stage_options.items()},
                "settings": _plain_json(self.settings), "inputs": _plain_json(self.inputs)}

    def to_json(self) -> bytes:
        """The bytes of ``accumulators.json`` (the payload and its ``sha256``)."""
        payload = self.payload()
        payload["sha256"] = payload_sha256(payload)
        return json.dumps(payload, sort_keys=True, ensure_ascii=True, allow_nan=False).encode("ascii") + b"\n"

    def write(self, directory: str) -> None:
        write_bytes(join(directory, ACCUMULATORS_FILE), self.to_json())

    @classmethod
    def from_json(cls, data: bytes) -> "RunAccumulators":
        """Parse and verify a file's bytes; `ValueError` saying what is wrong."""
        try:
            payload = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"is not JSON ({type(exc).__name__})") from None
        if not isinstance(payload, dict) or payload.get("format") != ACCUMULATORS_FORMAT:
            raise ValueError(f"is not a {ACCUMULATORS_FORMAT} file")
        if payload.get("version") != ACCUMULATORS_VERSION:
            raise ValueError(f"has format version {str(payload.get('version'))[:20]}; this corpus-audit "
                             f"reads version {ACCUMULATORS_VERSION}")
        recorded = payload.pop("sha256", None)
        if not isinstance(recorded, str) or recorded != payload_sha256(payload):
            raise ValueError("fails its sha256 check (edited or damaged since the run wrote it)")
        try:
            return cls._decode(payload)
        except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:
            raise ValueError(f"holds values this corpus-audit cannot read ({type(exc).__name__}: "
                             f"{str(exc)[:120]})") from None

    @classmethod
    def _decode(cls, payload: dict[str, Any]) -> "RunAccumulators":
        stages, options, settings, inputs = (payload["stages"], payload["stage_options"], payload["settings"],
                                             payload["inputs"])
        if not (isinstance(stages, dict) and isinstance(options, dict) and isinstance(settings, dict)
                and isinstance(inputs, list) and all(isinstance(item, dict) for item in inputs)):
            raise TypeError("stages, stage_options, settings or inputs has the wrong type")
        order = payload["stage_order"]
        if not isinstance(order, list) or sorted(map(str, order)) != sorted(stages) or sorted(options) != sorted(stages):
            raise ValueError("stage_order, stages and stage_options do not name the same stages")
        decoded_options = {name: decode_value(options[name]) for name in order}
        if not all(isinstance(v, dict) for v in decoded_options.values()):
            raise ValueError("a stage's options are not a mapping")
        return cls(stages={name: decode_value(stages[name]) for name in order},
                   accounting=_accounting(payload["accounting"]), stage_options=decoded_options,
                   settings=settings, inputs=inputs)


def _accounting(encoded: Any) -> ReadAccounting:
    """The `ReadAccounting` of the file: every count a non-negative int, skips ``{reason: count}``."""
    if not isinstance(encoded, dict) or set(encoded) - {f.name for f in fields(ReadAccounting)}:
        raise ValueError("accounting is not a ReadAccounting")
    values = {name: decode_value(value) for name, value in encoded.items()}
    skipped = values.get("documents_skipped", {})
    counts = [value for name, value in values.items() if name != "documents_skipped"]
    if not isinstance(skipped, dict) or not all(isinstance(k, str) for k in skipped):
        raise ValueError("accounting.documents_skipped is not {reason: count}")
    if not all(type(v) is int and v >= 0 for v in [*counts, *skipped.values()]):
        raise ValueError("accounting holds a count that is not a non-negative integer")
    return ReadAccounting(**values)


def read_accumulators(run_dir: str) -> RunAccumulators:
    """The verified ``accumulators.json`` of the run in ``run_dir``; `UsageError` (one line
    naming the file) when it is missing, too large, damaged, of another format or version."""
    path = join(run_dir, ACCUMULATORS_FILE)
    if not exists(path):
        raise UsageError(f"{path} not found: the run in {run_dir} kept no accumulators (audited by an older "
                         "corpus-audit, or it did not finish); audit it again to merge it")
    try:
        data = read_bytes(path, MAX_ACCUMULATORS_BYTES)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_ACCUMULATORS_BYTES:
        raise UsageError(f"{path} is larger than {MAX_ACCUMULATORS_BYTES} bytes: not a run's accumulators")
    try:
        return RunAccumulators.from_json(data)
    except ValueError as exc:
        raise UsageError(f"{path} {exc}; audit that run again") from None
