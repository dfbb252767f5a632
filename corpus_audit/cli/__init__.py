"""The ``corpus-audit`` command line: the parser and one module per command.

``run`` (`corpus_audit.cli.run`), ``report`` and ``datasheet`` (`corpus_audit.cli.report`),
``compare`` (`corpus_audit.cli.compare`) and ``lexicons`` (`corpus_audit.cli.lexicons`).
Unusable arguments end with one ``corpus-audit: error: ...`` line and exit code 2; options
``run`` does not know are passed to Beam as pipeline options.

``run``'s options come from the stages, whose modules import Apache Beam and pyarrow (about
2 s): they are added only when the command line may be ``run``, so ``--version``, ``report``,
``datasheet``, ``compare`` and ``lexicons`` start without them.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, Sequence

from corpus_audit import __version__
from corpus_audit.cli import compare, lexicons, report, run
from corpus_audit.cli.finish import EXIT_NOTHING_ANALYSED

__all__ = ["EXIT_NOTHING_ANALYSED", "EXIT_USAGE", "build_parser", "main"]

EXIT_USAGE = 2
#: The module of each command other than ``run`` (they take no Beam options).
_OTHER_COMMANDS = {"lexicons": lexicons, "report": report, "datasheet": report, "compare": compare}


def build_parser(run_options: bool = True) -> argparse.ArgumentParser:
    """The parser of every command (``run``, ``lexicons``, ``report``, ``datasheet``, ``compare``).

    ``run_options=False`` lists ``run`` without its options (no Beam import): for command
    lines that are not ``run`` (see `main`)."""
    parser = argparse.ArgumentParser(
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``corpus-audit ARGS``; the exit code."""
    started = time.time()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, beam_args = build_parser(_may_be_run(argv)).parse_known_args(argv)
    if args.command == "run":
        return _one_line_errors(run.ERRORS, run.run_command, args, beam_args, argv, started)
    if beam_args:
        return _fail(f"unrecognised argument(s): {' '.join(beam_args)}")
    module = _OTHER_COMMANDS[args.command]
    return _one_line_errors(module.ERRORS, module.command, args)


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
