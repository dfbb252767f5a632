"""``corpus-audit plan INPUT... --margin POINTS``: the sample rate an audit needs.

A pilot audit reads every input and analyses a ``--pilot-rate`` sample of its documents (the
same hash sampling as ``run --sample-rate``). For every percentage the stages declare
(`corpus_audit.transforms.base.Proportion`), the pilot gives its share ``p`` and the size of its
denominator in the whole corpus (the pilot's, divided by the pilot rate). At a rate ``R`` the
denominator holds about ``N * R`` sampled documents and the 95% Wilson interval of ``p`` is
``±h(p, N * R)`` points: the planned rate is the smallest ``R`` for which every figure's ``h``
is within ``--margin`` (times `SAFETY`, for the rerun's own share), or 1 (a full, exact run).

It prints the rate, the figures that need it most, and the expected time from the measured
throughput of a full CPU audit (`FULL_AUDIT_MB_PER_CPU_SECOND`, bench/end_to_end.py).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Iterator

from corpus_audit.errors import InputError, UsageError
from corpus_audit.stats import Z_95

__all__ = ["ERRORS", "FigureNeed", "add_parser", "command", "plan_rate", "rate_for"]

ERRORS: tuple[type[Exception], ...] = (UsageError, InputError)
#: MB of text per CPU-second of a full CPU audit (in-process engine, one worker; docs/scale.md).
FULL_AUDIT_MB_PER_CPU_SECOND = 2.9
#: Head-room on the needed sample: the rerun's share differs from the pilot's.
SAFETY = 1.2
DEFAULT_PILOT_RATE = 0.02


def half_width(share: float, trials: float, z: float = Z_95) -> float:
    """Half the width of the 95% Wilson interval of ``share`` over ``trials`` documents (a fraction)."""
    if trials <= 0:
        return 1.0
    z2 = z * z
    return z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)


def rate_for(share: float, population: float, margin_fraction: float) -> float:
    """The smallest sample rate whose interval on ``share`` of ``population`` documents is
    within ``margin_fraction`` (1.0 when only the whole population is)."""
    if population <= 0:
        return 1.0
    low, high = 1.0, float(population)
    if half_width(share, high) > margin_fraction:
        return 1.0
    for _ in range(80):  # bisection on the sampled documents needed
        middle = (low + high) / 2
        if half_width(share, middle) <= margin_fraction:
            high = middle
        else:
            low = middle
    return min(1.0, SAFETY * high / population)


@dataclass(frozen=True)
class FigureNeed:
    """One declared percentage of the pilot and the rate it needs."""

    table: str
    row: str
    column: str
    share: float
    population: float
    rate: float


def figure_needs(run_dir: str, pilot_rate: float, margin: float) -> list[FigureNeed]:
    """Every declared percentage of the pilot run in ``run_dir``, with the rate it needs."""
    from corpus_audit.report.run import load_run
    from corpus_audit.transforms import table_spec
    from corpus_audit.transforms.base import proportion_bases

    run = load_run(run_dir)
    needs = []
    for table in run.tables:
        found = table_spec(table)
        if found is None:
            continue
        spec = found[1]
        rows = run.table(table) or []
        keys = spec.keys_for(table, rows[0].keys() if rows else ())
        for proportion, row, count, base in proportion_bases(spec, rows, run.table):
            if not isinstance(count, int) or not isinstance(base, int) or base <= 0 or row.get(proportion.percent) is None:
                continue
            share = count / base
            population = base / pilot_rate
            label = ", ".join(f"{k}={row.get(k)}" for k in keys)
            # (a fraction column, scale 1, is held to the same share of its range)
            needs.append(FigureNeed(table, label, proportion.percent, share, population,
                                    rate_for(share, population, margin / 100)))
    return needs


def plan_rate(needs: list[FigureNeed], min_documents: float = 0) -> float:
    """The rate at which every figure over at least ``min_documents`` documents (in the whole
    corpus, estimated) has its interval within the margin."""
    return max((need.rate for need in needs if need.population >= min_documents), default=1.0)


@contextlib.contextmanager
def _pilot_directory(output: str | None) -> Iterator[str]:
    if output:
        yield output
        return
    directory = tempfile.mkdtemp(prefix="corpus-audit-plan-")
    try:
        yield f"{directory}/pilot"
    finally:
        shutil.rmtree(directory, ignore_errors=True)  # ours: made here, nothing else inside


def add_parser(commands: Any) -> None:
    plan = commands.add_parser(
        "plan", help="the sample rate at which every figure is within a margin", allow_abbrev=False,
        description="Run a pilot audit on a sample and print the --sample-rate at which every published "
                    "percentage's 95%% interval is within ±MARGIN percentage points, and the expected time.")
    plan.add_argument("inputs", nargs="+", metavar="INPUT", help="the corpus, as for run")
    plan.add_argument("--margin", type=float, required=True, metavar="POINTS",
                      help="the largest half-width wanted, in percentage points (e.g. 0.5)")
    plan.add_argument("--pilot-rate", type=float, default=DEFAULT_PILOT_RATE, metavar="R",
                      help=f"share of documents the pilot analyses (default {DEFAULT_PILOT_RATE})")
    plan.add_argument("--output", "-o", metavar="DIR", help="keep the pilot run here (default: a temporary folder)")
    from corpus_audit.cli.run_options import RunOptions

    # As `run` declares them: the pilot must read and sample the documents the audit will.
    RunOptions.add_arguments(plan, only=("stages", "text_field", "id_field", "group_by"))
    plan.add_argument("--min-documents", type=int, default=0, metavar="N",
                      help="plan only for figures over at least N documents of the corpus (estimated; default 0: "
                           "every figure, which often means a full run); the others are counted")
    plan.add_argument("--show", type=int, default=5, metavar="N", help="figures needing the most to show (default 5)")


def command(args: argparse.Namespace) -> int:
    from corpus_audit.api import audit_request
    from corpus_audit.cli.plan import plan_run
    from corpus_audit.cli.run import run_plan

    if not 0 < args.margin <= 100:
        raise UsageError(f"--margin must be in (0, 100] percentage points, got {args.margin}")
    if not 0 < args.pilot_rate < 1:
        raise UsageError(f"--pilot-rate must be in (0, 1), got {args.pilot_rate}")
    with _pilot_directory(args.output) as pilot_dir:
        request = audit_request(args.inputs, pilot_dir, args.stages, quiet=True, sample_rate=args.pilot_rate,
                                text_field=args.text_field, id_field=args.id_field, group_by=args.group_by)
        plan = plan_run(request)
        code = run_plan(plan)
        if code != 0:
            raise InputError("the pilot analysed no document: nothing to plan from")
        from corpus_audit.report.run import load_run

        pilot = load_run(pilot_dir).summary
        needs = figure_needs(pilot_dir, args.pilot_rate, args.margin)
    _print_plan(needs, args, pilot)
    return 0


def _print_plan(needs: list[FigureNeed], args: argparse.Namespace, pilot: dict[str, Any]) -> None:
    rate = plan_rate(needs, args.min_documents)
    left_out = sum(1 for need in needs if need.population < args.min_documents)
    megabytes = pilot.get("bytes_read", 0) / 1e6
    seconds = (pilot.get("timings") or {}).get("wall_seconds") or 0.0
    analyse = rate * megabytes / FULL_AUDIT_MB_PER_CPU_SECOND
    print(f"corpus-audit plan: pilot of {pilot.get('documents_analysed', 0):,} of {pilot.get('documents_read', 0):,} "
          f"documents ({args.pilot_rate:g} sample, {megabytes:.1f} MB of text), {len(needs):,} figures")
    if rate >= 1:
        print(f"rate: 1 (a full run): some figures are over too few documents to be within ±{args.margin:g} points "
              "on a sample")
    else:
        print(f"rate: --sample-rate {rate:.4g} puts every figure's 95% interval within ±{args.margin:g} points")
    print(f"expected time: about {analyse:.0f} CPU-s of analysis ({FULL_AUDIT_MB_PER_CPU_SECOND} MB of text per "
          f"CPU-s, a full CPU audit's measured throughput) plus reading all the input (the pilot took {seconds:.0f} s)")
    if left_out:
        print(f"not planned for: {left_out:,} figures over fewer than {args.min_documents:,} documents (--min-documents)")
    print("figures that need the most:")
    planned = [need for need in needs if need.population >= args.min_documents]
    for need in sorted(planned, key=lambda n: -n.rate)[:max(0, args.show)]:
        print(f"  {need.table} [{need.row}] {need.column}: {100 * need.share:.1f}% of ~{need.population:,.0f} "
              f"documents -> rate {need.rate:.4g}")
    sys.stdout.flush()
