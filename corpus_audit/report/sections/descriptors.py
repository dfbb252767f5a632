"""Report of the ``descriptors`` stage: the ``descriptor_axes`` and ``descriptors`` tables
(HolisticBias, Llama 2 Table 9b), their plot and datasheet section."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from corpus_audit.report.blocks import Paragraph, TableBlock, code
from corpus_audit.report.formatting import fmt_int, fmt_percent, md
from corpus_audit.report.registry import ReportSection
from corpus_audit.report.run import RunData

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from matplotlib.figure import Figure

    from corpus_audit.report.datasheet import DatasheetBuilder

__all__ = ["SECTION", "TOP_DESCRIPTORS", "by_axis", "datasheet", "lexicon_label", "plot", "produced_nothing", "top_descriptors"]

#: Descriptors shown per axis, in the plot and the datasheet.
TOP_DESCRIPTORS = 5


def by_axis(run: RunData) -> dict[str, list[dict[str, Any]]]:
    """The ``descriptors`` rows grouped by axis, in table order."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in run.table("descriptors") or []:
        grouped.setdefault(str(row["axis"]), []).append(row)
    return grouped


def _rank(row: dict[str, Any]) -> int:
    rank = row.get("rank")
    return int(rank) if rank is not None else 1 << 30


def top_descriptors(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An axis' `TOP_DESCRIPTORS` found descriptors: by rank, then most documents, then name.

    Ambiguous terms (straight, white, black; flagged ``ambiguous``) never enter the list, as in
    Llama 2 Table 9b, though the axis ``percent`` counts them."""
    ranked = sorted(rows, key=lambda r: (_rank(r), -int(r["documents"]), str(r["descriptor"])))
    return [r for r in ranked if int(r["documents"]) > 0 and not r.get("ambiguous")][:TOP_DESCRIPTORS]


def lexicon_label(settings: dict[str, Any]) -> str:
    """How the datasheet names the list: ``holistic-bias v1.1`` (official, by digest), ``modified from
    holistic-bias v1.1 (sha256 …)`` or ``custom (sha256 …)``; never a path."""
    name, version, digest = settings.get("lexicon"), settings.get("lexicon_version"), settings.get("lexicon_sha256")
    short = f" (sha256 {str(digest)[:12]})" if digest else ""
    if name == "custom":
        return (str(version) if version and version != "custom" else "custom list") + short
    return " ".join(str(part) for part in (name, version) if part)


def produced_nothing(run: RunData) -> str | None:
    """Why the axis table has no figure: no document was in the lists' scope."""
    count, noun = run.lexicon_scope("descriptors")
    if run.table("descriptor_axes") and count == 0:
        return f"no document in scope (0 {noun}); the English lists were applied to none"
    return None


def plottable(run: RunData) -> bool:
    return bool(run.table("descriptor_axes")) and run.table("descriptors") is not None


def _label(descriptor: str, axis: str) -> str:
    prefix = f"{axis}:"
    label = descriptor[len(prefix):] if descriptor.startswith(prefix) else descriptor
    return label if len(label) <= 24 else label[:23] + "…"


def plot(run: RunData) -> Figure | None:
    from corpus_audit.report.plots import add_title, corpus_title, hbar_percent, layout, new_figure, percent_note

    axes_rows = run.table("descriptor_axes")
    if not plottable(run):
        return None
    grouped = by_axis(run)
    count, noun = run.lexicon_scope("descriptors")
    ncols = 2
    nrows = math.ceil(len(axes_rows) / ncols)
    figure = new_figure(11.0, 0.9 + 2.0 * nrows)
    layout(figure, left=0.14, right=0.98, wspace=0.55, hspace=0.75, bottom_inches=0.55, top_inches=0.95)
    for index, axis_row in enumerate(axes_rows, start=1):
        axis = str(axis_row["axis"])
        ax = figure.add_subplot(nrows, ncols, index)
        top = top_descriptors(grouped.get(axis, []))
        ax.set_title(f"{axis.replace('_', ' ')}: {fmt_percent(axis_row['percent'], 'short')} "
                     f"({fmt_int(axis_row['documents'] or 0)} of {count:,})", loc="left", fontsize=10)
        if not top:
            ax.text(0.5, 0.5, "no descriptor of this axis found", ha="center", va="center",
                    transform=ax.transAxes, color="#666666")
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        labels = [_label(str(r["descriptor"]), axis) for r in top]
        values = [float(r["percent"]) for r in top]
        notes = [percent_note(r["percent"], r["documents"]) for r in top]
        hbar_percent(ax, labels, values, notes)
        ax.set_ylim(TOP_DESCRIPTORS - 0.5, -0.5)  # same bar height whatever the count
        ax.set_xlabel("% of the axis' documents", fontsize=9)
    for index in range(len(axes_rows) + 1, nrows * ncols + 1):
        figure.add_subplot(nrows, ncols, index).set_visible(False)
    add_title(figure, corpus_title(run, "HolisticBias descriptors (Llama 2 Table 9b)", f"{count:,} {noun}"),
              f"Axis: % of the {count:,} {noun} mentioning it. Bars: its top {TOP_DESCRIPTORS} descriptors, "
              "% of the axis' documents (ambiguous terms left out)")
    return figure


def datasheet(builder: DatasheetBuilder) -> None:
    run = builder.run
    settings = run.stage_settings("descriptors")
    lexicon = lexicon_label(settings)
    count, noun = run.lexicon_scope("descriptors")
    if settings.get("official") is False:
        builder.add(Paragraph(f"**Not the official HolisticBias list** ({code(lexicon)}): these figures are not "
                              "comparable with Llama 2's Table 9b; rerun with the official file "
                              "(`corpus-audit lexicons download holistic-bias`)."))
    builder.add(Paragraph(f"Documents mentioning a descriptor of each axis, percent of the {fmt_int(count)} {noun}"
                          + (f" (lexicon {code(lexicon)})" if lexicon else "") + ":"))
    axes = run.table("descriptor_axes") or []
    both = "percent_unambiguous" in run.columns.get("descriptor_axes", [])
    ambiguous = settings.get("ambiguous_terms") or []
    if both:
        builder.add(Paragraph(f"{code('percent')} counts every term, as Llama 2 Table 9b does; "
                              f"{code('percent_unambiguous')} leaves out the ambiguous terms "
                              f"({', '.join(md(term) for term in ambiguous) or 'none'}), which are never in the "
                              "top lists."))
    builder.add(TableBlock(["axis", "documents", "percent"] + (["percent_unambiguous"] if both else []),
                           [[md(r["axis"]), fmt_int(r["documents"]), fmt_percent(r["percent"], denominator=count)]
                            + ([fmt_percent(r.get("percent_unambiguous"), denominator=count)] if both else [])
                            for r in axes]))
    builder.add(Paragraph(f"Top {TOP_DESCRIPTORS} descriptors per axis; percent of the documents mentioning "
                          f"that axis ({code('tables/descriptors.csv')} has every descriptor):"))
    grouped = by_axis(run)
    body = []
    for axis_row in axes:
        axis = str(axis_row["axis"])
        for row in top_descriptors(grouped.get(axis, [])):
            body.append([md(axis), fmt_int(row.get("rank")), md(row["descriptor"]), fmt_int(row["documents"]),
                         fmt_percent(row["percent"], denominator=axis_row["documents"])])
    if body:
        builder.add(TableBlock(["axis", "rank", "descriptor", "documents", "percent"], body))
    else:
        builder.add(Paragraph("No descriptor was found."))
    builder.plot(SECTION.name, "Top descriptors per axis")


SECTION = ReportSection(
    name="descriptors",
    stage="descriptors",
    title="Demographic representation: HolisticBias descriptors (Llama 2 Table 9b)",
    description="the HolisticBias descriptor analysis",
    tables={"descriptor_axes": ("axis",), "descriptors": ("axis", "descriptor")},
    columns={"descriptor_axes": ("documents", "percent"), "descriptors": ("documents", "percent")},
    datasheet=datasheet,
    plot=plot,
    plottable=plottable,
    produced_nothing=produced_nothing,
)
