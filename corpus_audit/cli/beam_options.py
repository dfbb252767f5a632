"""Beam pipeline options of ``corpus-audit run``: what Beam would silently drop, and the
options object for the chosen runner and worker count."""

from __future__ import annotations

import argparse
from typing import Any

from corpus_audit.errors import UsageError

__all__ = ["MAX_LOCAL_WORKERS", "check_local_workers", "pipeline_options", "unknown_beam_options"]


def unknown_beam_options(beam_args: list[str]) -> list[str]:
    """Arguments that neither corpus-audit nor any Beam pipeline option understands.

    Beam only logs and drops these; a mistyped ``--limt 5`` must not run the full corpus.
    """
    from apache_beam.options import pipeline_options as beam_options

    try:
        parser = beam_options._BeamArgumentParser(allow_abbrev=False)  # noqa: SLF001 - Beam's own parser
    except AttributeError:  # pragma: no cover - older/newer Beam
        parser = argparse.ArgumentParser(allow_abbrev=False)
    seen: set[type] = set()
    pending = list(beam_options.PipelineOptions.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        try:
            cls._add_argparse_args(parser)  # noqa: SLF001
        except argparse.ArgumentError:
            continue  # the same option declared by two classes
    _, unknown = parser.parse_known_args(beam_args)
    return unknown


#: Local DirectRunner worker processes allowed at most (one per core is the useful maximum).
MAX_LOCAL_WORKERS = 256


def check_local_workers(workers: int) -> None:
    """Refuse a worker count no machine runs as local processes."""
    if workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    if workers > MAX_LOCAL_WORKERS:  # each is a Python process: ~150 MB (and, with Beam, ~2.5 CPU s to import it)
        raise UsageError(f"--workers {workers}: at most {MAX_LOCAL_WORKERS} local worker processes "
                         "(use --workers auto, or a distributed runner such as DataflowRunner)")


def pipeline_options(runner: str, workers: int, beam_args: list[str]) -> Any:
    """``PipelineOptions`` from the Beam arguments, with ``--runner`` and (DirectRunner)
    ``--workers`` applied unless the Beam arguments set them themselves."""
    from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

    options = PipelineOptions(beam_args)
    options.view_as(StandardOptions).runner = runner
    if runner in ("DirectRunner", "direct") and "--direct_num_workers" not in " ".join(beam_args):
        check_local_workers(workers)
        direct = options.view_as(DirectOptions)
        direct.direct_num_workers = workers
        if workers > 1 and "--direct_running_mode" not in " ".join(beam_args):
            direct.direct_running_mode = "multi_processing"
    return options
