"""The ``corpus-audit`` command line: the parser and one module per command.

``run`` (`corpus_audit.cli.run`), ``report`` and ``datasheet`` (`corpus_audit.cli.report`),
``compare`` (`corpus_audit.cli.compare`), ``merge`` (`corpus_audit.cli.merge`) and ``lexicons``
(`corpus_audit.cli.lexicons`).
Every command ends its errors at one boundary (`main`), as one ``corpus-audit: error: ...`` line
on stderr. Exit codes, by class:

* 0: done; 1: ``run`` analysed no document;
* 2: unusable arguments or inputs (argparse's errors too), nothing written or deleted;
* 3: the outputs could not be written (disk full, permissions; the run is marked incomplete);
* 4: a worker process of the local engine died or was stopped without reporting;
* 70: an internal error (a bug): the line names the log file holding the traceback, in the run
  directory when there is one (``corpus-audit-error.log``, listed as the run's own);
* 130: interrupted (Ctrl-C), 143: stopped by SIGTERM, 129: by SIGHUP — the run is marked
  interrupted and its lock released (`corpus_audit.cli.outputs`).

Options ``run`` does not know are passed to Beam as pipeline options.

``run``'s options come from the stages, whose modules import Apache Beam and pyarrow (about
2 s): they are added only when the command line may be ``run``, so ``--version``, ``report``,
``datasheet``, ``compare`` and ``lexicons`` start without them.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, NoReturn, Sequence

from corpus_audit import __version__
from corpus_audit.cli import compare, lexicons, merge, report, run, sample_plan
from corpus_audit.cli.finish import EXIT_NOTHING_ANALYSED

__all__ = ["ERROR_LOG_NAME", "EXIT_INTERNAL", "EXIT_NOTHING_ANALYSED", "EXIT_USAGE", "ArgumentError", "build_parser", "main"]

EXIT_USAGE = 2
#: An internal error (BSD's EX_SOFTWARE): a bug, its traceback in `ERROR_LOG_NAME`.
EXIT_INTERNAL = 70
#: Where an internal error's traceback goes, in the run directory the command worked on.
ERROR_LOG_NAME = "corpus-audit-error.log"


class ArgumentError(Exception):
    """argparse's complaint about the command line (shown in the same one-line format)."""


class _Parser(argparse.ArgumentParser):
    """argparse, its errors raised (so that `main` prints them like every other error)."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        raise ArgumentError(f"{self.prog.removeprefix('corpus-audit').strip() or 'arguments'}: {message}"
                            if self.prog != "corpus-audit" else message)
#: The module of each command other than ``run`` (they take no Beam options).
_OTHER_COMMANDS = {"lexicons": lexicons, "report": report, "datasheet": report, "compare": compare,
                   "plan": sample_plan, "merge": merge}


def build_parser(run_options: bool = True) -> argparse.ArgumentParser:
    """The parser of every command (``run``, ``lexicons``, ``report``, ``datasheet``, ``compare``).

    ``run_options=False`` lists ``run`` without its options (no Beam import): for command
    lines that are not ``run`` (see `main`)."""
    parser = _Parser(
        prog="corpus-audit", allow_abbrev=False,
        description="Audit an LLM pretraining corpus (Llama 2 §4.1): languages, demographic "
                    "representation, toxicity — on Apache Beam.")
    parser.add_argument("--version", action="version", version=f"corpus-audit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    if run_options:
        run.add_parser(commands)
    else:
        commands.add_parser("run", help="audit a corpus", add_help=False)
    lexicons.add_parser(commands)
    report.add_parsers(commands)
    compare.add_parser(commands)
    sample_plan.add_parser(commands)
    merge.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``corpus-audit ARGS``; the exit code. The one error boundary of every command."""
    started = time.time()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, beam_args = build_parser(_may_be_run(argv)).parse_known_args(argv)
    except ArgumentError as exc:
        return _fail(str(exc))
    try:
        if args.command == "run":
            return _one_line_errors(run.ERRORS, run.run_command, args, beam_args, argv, started)
        if beam_args:
            return _fail(f"unrecognised argument(s): {' '.join(beam_args)}")
        module = _OTHER_COMMANDS[args.command]
        return _one_line_errors(module.ERRORS, module.command, args)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback kept in a file
        return _internal_error(exc, _run_directory_of(args))


def _run_directory_of(args: argparse.Namespace) -> str | None:
    """The local run directory the command worked on, if it exists (where the error log goes)."""
    import os

    directory = getattr(args, "output", None) if args.command == "run" else getattr(args, "run_dir", None)
    if not isinstance(directory, str) or "://" in directory or not os.path.isdir(directory):
        return None
    return directory


def _internal_error(exc: BaseException, directory: str | None) -> int:
    """Report a bug in one line; its traceback goes to `ERROR_LOG_NAME` in ``directory`` (or,
    without one, on stderr after the line)."""
    import os
    import traceback

    text = "".join(traceback.format_exception(exc))
    summary = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    if directory is not None:
        path = os.path.join(directory, ERROR_LOG_NAME)
        try:
            from corpus_audit.rundir.run_directory import record_owned_file

            record_owned_file(directory, ERROR_LOG_NAME, text.encode("utf-8"))  # the run's: a rerun replaces it
            print(f"corpus-audit: error: internal error ({summary}); the traceback is in {path} — please report it",
                  file=sys.stderr)
            return EXIT_INTERNAL
        except OSError:
            pass
    print(f"corpus-audit: error: internal error ({summary}); please report it with the traceback below",
          file=sys.stderr)
    print(text, file=sys.stderr, end="")
    return EXIT_INTERNAL


def _may_be_run(argv: list[str]) -> bool:
    """False when ``argv`` is certainly not ``run``: another command first, or only
    ``--version``/``--help``; the full ``run`` parser is then not built."""
    for token in argv:
        if token == "--":
            return True
        if not token.startswith("-"):
            return token not in _OTHER_COMMANDS
        if token not in ("--version", "-h", "--help"):
            return True
    return False


def _one_line_errors(errors: tuple[type[Exception], ...], command: Callable[..., int], *args: Any) -> int:
    """``command(*args)``, with an error of ``errors`` shown as one line (exit code 2)."""
    try:
        return command(*args)
    except errors as exc:
        return _fail(str(exc))


def _fail(message: str) -> int:
    print(f"corpus-audit: error: {message}", file=sys.stderr)
    return EXIT_USAGE
