"""Report of the ``gender_gap`` stage: the ``gender_gap`` table (Gender-GAP, Muller et al. 2023),
its plot and datasheet section."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corpus_audit.report.blocks import Paragraph, TableBlock, code
from corpus_audit.report.formatting import fmt_int, fmt_percent, language_label, md_language, plural
from corpus_audit.report.registry import ReportSection
from corpus_audit.report.run import RunData

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from matplotlib.figure import Figure

    from corpus_audit.report.datasheet import DatasheetBuilder

__all__ = ["GENDERS", "SECTION", "TOP_GENDER_GAP_LANGUAGES", "datasheet", "lexicon_rows", "plot"]

#: Languages shown in the plot (the datasheet lists every language with a lexicon).
TOP_GENDER_GAP_LANGUAGES = 20
GENDERS = ("masculine", "feminine", "unspecified")
#: Shares over fewer matched nouns are drawn pale (and flagged small in the datasheet).
MIN_MATCHES = 30
#: Marks a share over fewer than MIN_MATCHES matched nouns in the datasheet.
FEW_MATCHES_MARK = "‡"
GENDER_COLOURS = {"masculine": "#4C72B0", "feminine": "#DD8452", "unspecified": "#55A868"}
#: Optional share columns, shown in the datasheet when the table has them (the per-100-token rates
#: and every other column are in tables/gender_gap.csv): the datasheet's table stays at 8 columns.
DERIVED_COLUMNS = ("masculine_share", "feminine_share")


def lexicon_rows(run: RunData) -> list[dict[str, Any]]:
    """Languages with a lexicon and text, most documents first."""
    rows = [r for r in run.table("gender_gap") or []
            if str(r.get("lexicon")) != "no_lexicon" and int(r.get("tokens") or 0) > 0]
    return sorted(rows, key=lambda r: (-int(r["documents"]), str(r["language"])))


def plottable(run: RunData) -> bool:
    return bool(lexicon_rows(run))


def plot(run: RunData) -> Figure | None:
    from corpus_audit.report.plots import GRID_COLOUR, add_title, corpus_title, layout, new_figure

    rows = lexicon_rows(run)[:TOP_GENDER_GAP_LANGUAGES]
    if not rows:
        return None
    matched = [sum(int(r[g] or 0) for g in GENDERS) for r in rows]
    labels = [f"{language_label(r['language'])}  ({plural(int(r['documents']), 'doc')}, {plural(m, 'match')})"
              .replace("matchs", "matches") for r, m in zip(rows, matched)]
    figure = new_figure(12.0, 1.9 + 0.34 * len(rows))
    layout(figure, left=0.27, right=0.98, wspace=0.12, top_inches=1.15, bottom_inches=0.6)
    rates = figure.add_subplot(1, 2, 1)
    shares = figure.add_subplot(1, 2, 2, sharey=rates)
    positions = list(range(len(rows)))
    height = 0.26
    for offset, gender in enumerate(GENDERS):
        # Recomputed from the counts: independent of how the table rounds its rate columns.
        values = [100.0 * int(r[gender] or 0) / int(r["tokens"]) for r in rows]
        rates.barh([p + (offset - 1) * height for p in positions], values, height=height,
                   color=GENDER_COLOURS[gender], label=gender)
    rates.set_yticks(positions, labels)
    rates.invert_yaxis()
    rates.set_xlabel("gendered nouns per 100 tokens")
    rates.grid(axis="x", color=GRID_COLOUR, linewidth=0.6)
    rates.set_title("Rate", loc="left", fontsize=10.5)
    left = [0.0] * len(rows)
    for gender in GENDERS:
        matches = [int(r["masculine"] or 0) + int(r["feminine"] or 0) + int(r["unspecified"] or 0) for r in rows]
        values = [100.0 * int(r[gender] or 0) / m if m else 0.0 for r, m in zip(rows, matches)]
        # Shares from fewer than MIN_MATCHES matches are drawn pale: too few to read as a balance.
        bars = shares.barh(positions, values, left=left, height=0.65, color=GENDER_COLOURS[gender])
        for bar, count in zip(bars, matches):
            bar.set_alpha(1.0 if count >= MIN_MATCHES else 0.35)
        for y, (start, value, count) in enumerate(zip(left, values, matches)):
            if value >= 9:  # white on a full colour; dark grey on a pale bar, where white cannot be read
                shares.text(start + value / 2, y, f"{value:.0f}%", ha="center", va="center", fontsize=8,
                            color="white" if count >= MIN_MATCHES else "#333333")
        left = [a + b for a, b in zip(left, values)]
    for y, r in enumerate(rows):
        if sum(int(r[g] or 0) for g in GENDERS) == 0:
            shares.text(2, y, "no match", va="center", fontsize=8, color="#666666")
    shares.set_xlim(0, 100)
    shares.set_xlabel("share of matched gendered nouns (%)")
    shares.tick_params(axis="y", labelleft=False)
    shares.set_title("Share", loc="left", fontsize=10.5)
    handles, names = rates.get_legend_handles_labels()
    figure.legend(handles, names, loc="upper right", ncol=3, frameon=False, fontsize=9,
                  bbox_to_anchor=(0.99, 1 - 0.3 / figure.get_figheight()))
    covered = sum(int(r["documents"]) for r in lexicon_rows(run))
    add_title(figure, corpus_title(run, "Gender-GAP: gendered person nouns per language",
                                   f"{covered:,} documents in languages with a lexicon"),
              f"Languages with a Gender-GAP lexicon; pale shares: fewer than {MIN_MATCHES} matched nouns"
              + (f", top {TOP_GENDER_GAP_LANGUAGES} by documents" if len(rows) == TOP_GENDER_GAP_LANGUAGES else ""))
    return figure


def datasheet(builder: DatasheetBuilder) -> None:
    run = builder.run
    settings = run.stage_settings("gender_gap")
    lexicon = " ".join(str(settings[k]) for k in ("lexicon", "lexicon_version") if settings.get(k))
    all_rows = run.table("gender_gap") or []
    if (settings.get("lexicons") or {}).get("source") == "default":
        builder.add(Paragraph("**Not the official Gender-GAP lexicons** (corpus-audit's own short lists): these "
                              "figures are not comparable with the paper's; rerun with the official files "
                              "(`corpus-audit lexicons download gender-gap`)."))
    rows = lexicon_rows(run)
    without = [r for r in all_rows if str(r.get("lexicon")) == "no_lexicon"]
    builder.add(Paragraph(
        "Matches of gendered person nouns in the lexicon of each document's language"
        + (f" ({code(lexicon)})" if lexicon else "") + ": counts, the masculine and feminine share (percent of "
        "the language's matches), and percent of the language's documents with at least one match "
        f"({code('tables/gender_gap.csv')} also has the tokens and the rates per 100 tokens)."))
    columns = run.columns.get("gender_gap", [])
    extra = [c for c in DERIVED_COLUMNS if c in columns]
    header = ["language", "documents", *GENDERS, *extra, "percent"]
    def share(row: dict[str, Any], column: str) -> str:
        # A share over fewer than MIN_MATCHES matched nouns is a handful of words: marked, as the plot pales it.
        few = sum(int(row[g] or 0) for g in GENDERS) < MIN_MATCHES and row.get(column) is not None
        return fmt_percent(row.get(column)) + (FEW_MATCHES_MARK if few else "")

    body = [[md_language(r["language"]), fmt_int(r["documents"]), *[fmt_int(r[g]) for g in GENDERS],
             *[share(r, c) for c in extra], fmt_percent(r.get("percent"), denominator=r["documents"])]
            for r in rows]
    if body:
        builder.add(TableBlock(header, body))
        if any(FEW_MATCHES_MARK in cell for row in body for cell in row):
            builder.add(Paragraph(f"{FEW_MATCHES_MARK} share over fewer than {MIN_MATCHES} matched nouns (the "
                                  "counts beside it): too few to read as a balance."))
    else:
        builder.add(Paragraph("No analysed document is in a language with a Gender-GAP lexicon."))
    if without:
        documents = sum(int(r["documents"]) for r in without)
        builder.add(Paragraph(f"Not covered: {fmt_int(documents)} documents in {len(without):,} languages without "
                              f"a lexicon ({code('no_lexicon')} rows of {code('tables/gender_gap.csv')})."))
    builder.plot(SECTION.name, "Gender-GAP rates per language")


SECTION = ReportSection(
    name="gender_gap",
    stage="gender_gap",
    title="Gendered person nouns (Gender-GAP, Muller et al. 2023)",
    description="the Gender-GAP analysis",
    tables={"gender_gap": ("language",)},
    columns={"gender_gap": ("documents", "tokens", "masculine", "feminine", "unspecified"),
             "gender_gap_reference": ("documents",)},
    optional_tables={"gender_gap_reference": ("lang",)},
    datasheet=datasheet,
    plot=plot,
    plottable=plottable,
)
