"""The options of ``corpus-audit run`` itself (the stages declare their own: `Analysis.Options`),
and `RunRequest`: one run asked for, by the command line or by `corpus_audit.api.audit`.

Both fill the same typed dataclasses; `corpus_audit.cli.plan.plan_run` takes the request.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Mapping

from corpus_audit.errors import UsageError
from corpus_audit.options import Options, check_range, flag, option, option_fields
from corpus_audit.readers.base import ReadConfig
from corpus_audit.remote import remote_help

__all__ = ["RunOptions", "RunRequest", "parse_workers"]

DEFAULT_MAX_DOCUMENT_BYTES = ReadConfig.max_document_bytes
DEFAULT_BATCH_DOCUMENTS = ReadConfig.batch_documents


def parse_workers(value: str) -> int | str:
    """``--workers``: a whole number (checked >= 1 when the options are built) or ``auto``."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"expected a number or auto, got {value!r}") from None


def _check_workers(value: Any) -> str | None:
    if value == "auto" or (isinstance(value, int) and not isinstance(value, bool)):
        return None
    return f"must be a whole number or auto, got {value!r}"


def _at_least_one(value: int | None) -> str | None:
    return None if value is None or value >= 1 else f"must be >= 1, got {value}"


def _positive(value: float | None) -> str | None:
    return None if value is None or value > 0 else f"must be > 0, got {value}"


def _non_empty(value: str) -> str | None:
    return None if value.strip() else "is empty"


@dataclass(frozen=True)
class RunOptions(Options):
    """``corpus-audit run``'s own options (the run's inputs are `RunRequest.inputs`)."""

    GROUP: ClassVar[None] = None
    output: str = option("", flags=("-o",), metavar="DIR", path=True, check=_non_empty,
                         help="output directory (local or gs://)")
    runner: str = option("auto", check=_non_empty,
                         help="auto (default): in this process without Beam (local), in forked worker processes for "
                              "several workers, else Beam's DirectRunner (Beam options, --dry-run); local; or a Beam "
                              "runner: DirectRunner, PortableRunner, DataflowRunner, ... (summary.json records the "
                              "choice and why)")
    workers: int | str = option("auto", metavar="N|auto", parse=parse_workers, check=_check_workers,
                                help="worker processes: forked from this one on the local engine, Beam's "
                                     "multi_processing on the DirectRunner; auto (default): 1 below ~4 MB of input "
                                     "(compressed files estimated x3), where starting a second worker costs more than "
                                     "it saves, else min(cores, splits); summary.json records the choice")
    stages: tuple[str, ...] | None = option(None, metavar="LIST", check=lambda v: None if v is None or v else "is empty",
                                            help="comma-separated analyses to run (default: all)")
    text_field: str = option("text", help="record field holding the text (default: text)")
    id_field: str = option("id", help="record field holding the document id (default: id; missing → <shard>:<record "
                                      "number>)")
    group_by: str | None = option(None, metavar="FIELD", help="also break tables down by this record field")
    limit: int | None = option(None, metavar="N", check=_at_least_one, help="stop after N records, for a quick look")
    sample_rate: float | None = option(None, metavar="R", check=check_range(0.0, 1.0, low_open=True),
                                       help="analyse a stable fraction R of the documents (a hash of each id, the rule "
                                            "toxicity sampling uses); the rest are counted as documents_not_sampled")
    sample_seed: int | None = option(None, metavar="N", check=lambda v: None if v is None or 0 <= v < 2**63
                                     else f"must be in [0, 2^63), got {v}",
                                     help="with --sample-rate: draw the sample keyed by N, another independent sample at "
                                          "the same rate (default: the unkeyed hash)")
    max_document_bytes: int = option(DEFAULT_MAX_DOCUMENT_BYTES, metavar="BYTES",
                                     help="larger documents are skipped as document_too_large (default 10 MB)")
    batch_documents: int = option(DEFAULT_BATCH_DOCUMENTS, metavar="N",
                                  help="documents per batch handed to the analyses (default 1000)")
    quiet: bool = option(False, help="no progress or summary on the console")
    svg: bool = option(False, help="draw each plot as SVG too (default: PNG only)")
    overwrite: bool = option(False, help="replace a completed run in --output (refused without it); files a run did "
                                         "not write are never deleted")
    checkpoint_dir: str | None = option(None, metavar="DIR", path=True,
                                        help="keep each finished split's results here; a rerun with the same DIR and "
                                             "settings restores them and analyses only the rest (local or gs://)")
    dry_run: bool = option(False, help="build and validate the pipeline with its runner options (e.g. Dataflow), print "
                                       "a job summary, and stop: nothing is submitted, read remotely or written")
    hf_data_files: str | None = option(None, metavar="GLOB",
                                       help="with an input hf://datasets/ORG/NAME[@REV]: the data files to read, as "
                                            "globs inside the dataset repository, comma-separated (e.g. "
                                            "'en/c4-train.0000*-of-01024.json.gz'; default: every file of a supported "
                                            "format)")
    # Deadlines of remote reads (`corpus_audit.remote.Deadlines`; None: $CORPUS_AUDIT_REMOTE_*, else the defaults).
    remote_timeout: float | None = option(None, metavar="SECONDS", check=_positive, help=remote_help("read"))
    remote_connect_timeout: float | None = option(None, metavar="SECONDS", check=_positive,
                                                  help=remote_help("connect"))
    remote_tries: int | None = option(None, metavar="N", check=_at_least_one, help=remote_help("tries"))
    attributes: str | None = option(None, choices=("dolma",),
                                    help="also write per-document attribute files line-aligned with each JSON-lines "
                                         "input (dolma's format) under OUTPUT/attributes/corpus-audit/")

    def check(self) -> None:
        if self.max_document_bytes < 1 or self.batch_documents < 1:
            raise UsageError("--max-document-bytes and --batch-documents must be >= 1")
        if isinstance(self.workers, int) and self.workers < 1:
            raise UsageError(f"--workers must be >= 1, got {self.workers}")


def stage_options_from(values: Mapping[str, Any] | argparse.Namespace, caller: str | None = None) -> dict[str, Options]:
    """Every registered stage's options, from parsed arguments or the API's keyword arguments."""
    from corpus_audit.transforms import STAGES

    if isinstance(values, argparse.Namespace):
        return {name: stage.Options.from_namespace(values) for name, stage in STAGES.items()}
    return {name: stage.Options.from_values(values, caller or "audit()") for name, stage in STAGES.items()}


def known_option_names() -> set[str]:
    """Every option name `corpus_audit.api.audit` accepts (the run's and every stage's)."""
    from corpus_audit.transforms import STAGES

    names = {f.name for f in option_fields(RunOptions)}
    for stage in STAGES.values():
        names.update(f.name for f in option_fields(stage.Options))
    return names


@dataclass(frozen=True)
class RunRequest:
    """One run asked for: its inputs as given, its options and every stage's, Beam's options,
    and the command that asked (recorded in summary.json and the manifest)."""

    inputs: tuple[str, ...]
    options: RunOptions
    stage_options: Mapping[str, Options] = field(default_factory=dict)
    beam_args: tuple[str, ...] = ()
    command: tuple[str, ...] = ()

    @classmethod
    def from_namespace(cls, args: argparse.Namespace, beam_args: Iterable[str], argv: Iterable[str]) -> "RunRequest":
        """From ``corpus-audit run``'s parsed arguments."""
        return cls(inputs=tuple(args.inputs), options=RunOptions.from_namespace(args),
                   stage_options=stage_options_from(args), beam_args=tuple(beam_args),
                   command=("corpus-audit", *argv))

    def equivalent_command(self) -> tuple[str, ...]:
        """The ``corpus-audit run`` command line this request equals (recorded for people to
        read and rerun; never parsed by corpus-audit)."""
        words = ["corpus-audit", "run", *(f"./{path}" if path.startswith("-") else path for path in self.inputs)]
        seen: set[str] = set()
        for owner in (self.options, *self.stage_options.values()):
            for f in option_fields(type(owner)):
                value = getattr(owner, f.name)
                if f.name in seen or value == f.default or value is None or value is False:
                    continue
                seen.add(f.name)
                if value is True:
                    words.append(flag(f.name))
                else:
                    words += [flag(f.name), ",".join(value) if isinstance(value, tuple) else str(value)]
        return (*words, *self.beam_args)


def normalise_inputs(inputs: Any, caller: str = "audit()") -> tuple[str, ...]:
    """``inputs`` of the API: one path or URL, or a list of them (str or os.PathLike)."""
    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else inputs
    if not isinstance(items, (list, tuple)):
        raise UsageError(f"{caller}: inputs must be a path, a URL or a list of them, got {type(inputs).__name__}")
    paths = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise UsageError(f"{caller}: each input must be a path or URL string, got {type(item).__name__} {item!r:.60}")
        path = os.fspath(item)
        if not isinstance(path, str) or not path:
            raise UsageError(f"{caller}: an input is empty")
        paths.append(path)
    if not paths:
        raise UsageError(f"{caller} needs at least one input")
    return tuple(paths)
