"""Report of the ``toxicity`` stage: the ``toxicity_histogram`` and ``toxicity_summary`` tables
(sampled, Llama 2 Figure 13), their plot and datasheet section."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corpus_audit.report.blocks import Paragraph, TableBlock, code
from corpus_audit.report.formatting import as_float, fmt_int, fmt_number, fmt_percent, md
from corpus_audit.report.registry import ReportSection
from corpus_audit.report.run import RunData
from corpus_audit.stats import wilson_percent_interval

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from matplotlib.figure import Figure

    from corpus_audit.report.datasheet import DatasheetBuilder

__all__ = ["SECTION", "TOP_TOXICITY_GROUPS", "datasheet", "facts", "histogram", "interval", "overall", "plot",
           "sample_rate", "scope_rows"]

#: Languages / axes listed per breakdown in the datasheet.
TOP_TOXICITY_GROUPS = 15
#: The breakdowns of ``toxicity_summary`` (its ``scope`` column) → how the datasheet names them.
BREAKDOWNS = (("language", "language"), ("axis", "HolisticBias axis"))


def sample_rate(run: RunData) -> float | None:
    """The share of documents the run scored: the stage's ``sample_rate`` setting.

    The one spelling the toxicity stage has ever written to ``summary.json`` (its ``settings()``).
    """
    return run.stage_settings("toxicity").get("sample_rate")


def overall(run: RunData) -> dict[str, Any] | None:
    """The ``toxicity_summary`` row over every scored document (scope ``all``)."""
    for row in run.table("toxicity_summary") or []:
        if str(row.get("scope")) == "all":
            return row
    return None


def histogram(run: RunData) -> list[dict[str, Any]]:
    """The histogram's bins, lowest first."""
    return sorted(run.table("toxicity_histogram") or [], key=lambda r: float(r["bin_lower"]))


def scope_rows(run: RunData, scope: str) -> list[dict[str, Any]]:
    """The ``toxicity_summary`` rows of one breakdown, most scored documents first."""
    rows = [r for r in run.table("toxicity_summary") or [] if str(r.get("scope")) == scope]
    return sorted(rows, key=lambda r: (-int(r["documents"]), str(r["group"])))


def interval(row: dict[str, Any]) -> tuple[float | None, float | None]:
    """The row's Wilson 95% interval: from the table, or computed from its counts."""
    low, high = row.get("percent_ci_low"), row.get("percent_ci_high")
    if low is not None and high is not None:
        return float(low), float(high)
    computed = wilson_percent_interval(int(row.get("toxic_documents") or 0), int(row.get("documents") or 0))
    return computed if computed is not None else (None, None)


def produced_nothing(run: RunData) -> str | None:
    """Why the stage has no score to report (no document of the sample scored), else None."""
    row = overall(run)
    scored = int(row.get("documents") or 0) if row is not None else sum(int(r["documents"]) for r in histogram(run))
    if scored:
        return None
    settings = run.stage_settings("toxicity")
    sampled = settings.get("documents_sampled")
    errors = settings.get("scoring_errors")
    detail = "; ".join(part for part in (
        f"{fmt_int(sampled)} documents sampled" if isinstance(sampled, int) else "",
        f"{fmt_int(errors)} scoring errors" if isinstance(errors, int) and errors else "") if part)
    return "no document was scored" + (f" ({detail})" if detail else "")


def plottable(run: RunData) -> bool:
    return bool(run.table("toxicity_histogram"))


def plot(run: RunData) -> Figure | None:
    from corpus_audit.report.plots import (BAR_COLOUR, GRID_COLOUR, add_title, corpus_title, layout, new_figure,
                                           plain_log_ticks)

    rows = histogram(run)
    if not rows:
        return None
    lows = [float(r["bin_lower"]) for r in rows]
    highs = [float(r["bin_upper"]) for r in rows]
    counts = [int(r["documents"]) for r in rows]
    figure = new_figure(8.0, 4.4)
    layout(figure, left=0.11, right=0.97, top_inches=0.9, bottom_inches=0.65)
    ax = figure.add_subplot()
    ax.bar(lows, counts, width=[h - l for l, h in zip(lows, highs)], align="edge", color=BAR_COLOUR,
           edgecolor="white", linewidth=0.8)
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    top = max(counts) if any(counts) else 1
    ax.set_ylim(0.5, top * 6)
    ax.set_xlim(min(lows), max(highs))
    ax.set_xticks(sorted(set(lows) | set(highs)))
    ax.set_xlabel("document toxicity score (mean of its lines' scores)")
    ax.set_ylabel("documents (log scale)")
    ax.grid(axis="y", color=GRID_COLOUR, linewidth=0.6)
    for low, high, count in zip(lows, highs, counts):
        ax.text((low + high) / 2, max(count, 0.55) * 1.15, f"{count:,}", ha="center", va="bottom", fontsize=8.5)
    ax.axvline(0.5, color="#C44E52", linestyle="--", linewidth=1)
    row = overall(run)
    scored = sum(counts)
    subtitle = f"{scored:,} scored documents (a sample)"
    if row is not None:
        ci = ""
        if row.get("percent_ci_low") is not None and row.get("percent_ci_high") is not None:
            ci = f", 95% CI {float(row['percent_ci_low']):.2f}–{float(row['percent_ci_high']):.2f}%"
        subtitle += f"; score ≥ 0.5: {fmt_percent(row['percent'], 'short')}{ci}"
        ax.text(0.505, top * 3, "toxic (≥ 0.5)", color="#C44E52", fontsize=8.5, va="center")
    model = run.stage_settings("toxicity").get("model")
    if model:
        from corpus_audit.report.datasheet import publishable

        model = publishable(str(model))
        subtitle += f"; model {model}"
    add_title(figure, corpus_title(run, "Toxicity (Llama 2 Figure 13)", f"{scored:,} scored documents"), subtitle)
    return figure


def datasheet(builder: DatasheetBuilder) -> None:
    run = builder.run
    from corpus_audit.report.datasheet import sample_rate as run_sample_rate

    own = sample_rate(run)
    read_rate = run_sample_rate(run)  # --sample-rate of the whole run, None when every document was read
    if isinstance(own, (int, float)) and not isinstance(own, bool) and own >= 1 and read_rate is None:
        scored = "Every analysed document was scored"
        lead = "**These numbers are exact over the analysed documents.**"
    else:
        parts = [f"--toxicity-sample-rate {float(own):g}"
                 if isinstance(own, (int, float)) and not isinstance(own, bool) and own < 1 else None,
                 f"of a run that analysed a {100 * read_rate:g}% sample, --sample-rate {read_rate:g}"
                 if read_rate is not None else None]
        chosen = "; ".join(p for p in parts if p) or "a sample of the documents"
        scored = f"Only a deterministic sample was scored ({chosen}, chosen by a hash of the document id)"
        lead = "**These numbers are sampled estimates.**"
    from corpus_audit.report.datasheet import publishable

    model = publishable(str(run.stage_settings("toxicity").get("model") or "the ToxiGen-fine-tuned HateBERT"))
    builder.add(Paragraph(f"{lead} {scored}, with "
                          f"{code(model)}; each non-blank line is scored and a document's score is the mean of its "
                          "lines' scores. Percentages of toxic documents (score ≥ 0.5) carry a Wilson 95% "
                          "confidence interval."))
    row = overall(run)
    if row is not None:
        low, high = interval(row)
        rows = [["documents scored (sample)", fmt_int(row["documents"])],
                ["lines scored", fmt_int(row.get("lines"))],
                ["toxic documents (score ≥ 0.5)", fmt_int(row["toxic_documents"])],
                ["percent toxic (sampled estimate)", fmt_percent(row["percent"], denominator=row["documents"])],
                ["95% CI low (Wilson)", fmt_percent(low)],
                ["95% CI high (Wilson)", fmt_percent(high)]]
        rows += [[f"score {name}", fmt_number(as_float(row.get(name)))]
                 for name in ("mean", "p50", "p90", "p99", "p99_9") if name in row]
        builder.add(TableBlock(["quantity", "value"], rows))
    builder.add(Paragraph("Distribution of document scores:"))
    builder.add(TableBlock(["bin_lower", "bin_upper", "documents", "fraction"],
                           [[f"{float(r['bin_lower']):g}", f"{float(r['bin_upper']):g}", fmt_int(r["documents"]),
                             fmt_number(as_float(r.get("fraction")))] for r in histogram(run)]))
    builder.plot(SECTION.name, "Toxicity histogram")
    for scope, label in BREAKDOWNS:
        groups = scope_rows(run, scope)
        if not groups:
            continue
        shown = groups[:TOP_TOXICITY_GROUPS]
        builder.add(Paragraph(f"By {label} (sampled; the {len(shown)} with most scored documents"
                              + (f" of {len(groups)}" if len(groups) > len(shown) else "") + "):"))
        body = []
        for r in shown:
            low, high = interval(r)
            body.append([md(r["group"]), fmt_int(r["documents"]), fmt_int(r["toxic_documents"]),
                         fmt_percent(r["percent"], denominator=r["documents"]), fmt_percent(low), fmt_percent(high),
                         fmt_number(as_float(r.get("mean")))])
        builder.add(TableBlock([scope, "documents", "toxic_documents", "percent", "ci_low", "ci_high", "mean"], body))


def facts(run: RunData) -> list[str]:
    row = overall(run)
    if row is None:
        return []
    low, high = interval(row)
    scored = row["documents"]
    return [f"An estimated {fmt_percent(row['percent'], 'short', scored)} of documents (95% Wilson CI "
            f"{fmt_percent(low)}–{fmt_percent(high, 'short')}; of {fmt_int(scored)} scored, a sample) "
            "score ≥ 0.5 for toxicity."]


SECTION = ReportSection(
    name="toxicity",
    stage="toxicity",
    title="Toxicity (Llama 2 Figure 13)",
    sampled=True,
    description="toxicity scoring",
    tables={"toxicity_histogram": ("bin_lower", "bin_upper"), "toxicity_summary": ("scope", "group")},
    columns={"toxicity_histogram": ("documents",),
             "toxicity_summary": ("documents", "toxic_documents", "percent")},
    datasheet=datasheet,
    plot=plot,
    plottable=plottable,
    facts=facts,
    produced_nothing=produced_nothing,
)
