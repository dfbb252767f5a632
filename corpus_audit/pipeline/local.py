"""The in-process engine: the audit without Beam, for one worker on the launching machine.

What a one-worker DirectRunner run does, in plain Python and in the same order of steps: plan
each input's splits, read and analyse each work unit (`WorkUnitAnalyser`, the code the Beam
DoFn runs), merge each stage's per-unit accumulators and the accountings, write the skip
records (``skipped/skipped-00000-of-00001.jsonl``, the file Beam's ``WriteToText`` writes) and
the tables and ``summary.json`` (`write_results`). Accumulators are exact and merge in any
order, so the tables are byte-identical to a Beam run's (tests/test_local_engine.py).

Why: ``import apache_beam`` alone costs about 2 s and building and running the graph about as
much again, which is most of a small run's wall time; here a run pays neither. Runs that need
Beam keep it: several workers, Beam pipeline options, a distributed runner, ``--dry-run`` (it
validates the Beam graph) and a stage scored through ``RunInference`` (toxicity with a model).
"""

from __future__ import annotations

import json
import os
import uuid
from typing import IO, Any, Iterator

from corpus_audit.documents import ReadAccounting, WorkUnit
from corpus_audit.pipeline.audit_config import AuditConfig
from corpus_audit.pipeline.readers import plan_splits
from corpus_audit.pipeline.results import ACCOUNTING_KEY, write_results
from corpus_audit.pipeline.summary import RunSummary
from corpus_audit.pipeline.work import ACCOUNTING_TAG, INFERENCE_TAG, SKIPPED_TAG, WorkUnitAnalyser, limited_unit
from corpus_audit.storage import is_remote, join

__all__ = ["SKIPPED_FILE", "run_in_process", "work_units"]

#: The skip records' file: the name Beam's ``WriteToText`` gives a one-shard output.
SKIPPED_FILE = "skipped-00000-of-00001.jsonl"


def work_units(config: AuditConfig) -> Iterator[WorkUnit]:
    """The run's units of work, as the Beam graph makes them: one per split, or with
    ``--limit`` one holding every split."""
    splits = (split for item in config.inputs for split in plan_splits(item, config.read_config))
    if config.limit is None:
        for split in splits:
            yield WorkUnit((split,))
    else:
        yield limited_unit(list(splits), config.limit)


def run_in_process(config: AuditConfig) -> RunSummary:
    """Run the audit of ``config`` in this process; the summary written to ``summary.json``."""
    analyser = WorkUnitAnalyser(config)
    if analyser.inference is not None:
        raise ValueError("a stage scored through RunInference needs the Beam engine")
    analyser.setup()
    combine_fns = {analysis.name: analysis.combine_fn() for analysis in config.analyses}
    totals = {name: fn.create_accumulator() for name, fn in combine_fns.items()}
    accountings: list[ReadAccounting] = []
    with _SkipWriter(join(config.output_dir, "skipped", SKIPPED_FILE)) as skipped:
        for unit in work_units(config):
            for output in analyser.process(unit):
                if output.tag == SKIPPED_TAG:
                    skipped.write(output.value)
                elif output.tag == ACCOUNTING_TAG:
                    accountings.append(output.value)
                elif output.tag == INFERENCE_TAG:  # pragma: no cover - refused above
                    raise AssertionError("inference element without RunInference")
                else:  # a stage's partial accumulator over the unit
                    fn = combine_fns[output.tag]
                    totals[output.tag] = fn.merge_accumulators([totals[output.tag], output.value])
    aggregates: dict[str, Any] = {name: combine_fns[name].extract_output(total) for name, total in totals.items()}
    aggregates[ACCOUNTING_KEY] = ReadAccounting.total(accountings)
    return write_results(config, aggregates)


class _SkipWriter:
    """Streams skip records (one sorted-keys JSON object per line, as the Beam graph writes
    them) to a temporary name, renamed to ``path`` when the run's reading is done."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._tmp_path = f"{path}.{uuid.uuid4().hex}.tmp"
        self._file: IO[bytes] | None = None

    def __enter__(self) -> "_SkipWriter":
        if is_remote(self.path):
            from apache_beam.io.filesystems import FileSystems  # remote outputs only

            self._file = FileSystems.create(self._tmp_path)
        else:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self._file = open(self._tmp_path, "wb")
        return self

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        self._file.close()
        if is_remote(self.path):
            from apache_beam.io.filesystems import FileSystems

            if exc_type is not None:
                FileSystems.delete([self._tmp_path])
                return
            if FileSystems.exists(self.path):
                FileSystems.delete([self.path])
            FileSystems.rename([self._tmp_path], [self.path])
        elif exc_type is not None:
            os.remove(self._tmp_path)
        else:
            os.replace(self._tmp_path, self.path)
