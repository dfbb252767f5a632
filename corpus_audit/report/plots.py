"""Plots of a run's tables (``plots/<name>.png`` and ``.svg``), drawn with matplotlib's Agg canvas.

Each plot is drawn only when its table exists. Figures are built with ``matplotlib.figure.Figure``
(no pyplot, no global backend switch), and written without dates and with a fixed SVG hash salt,
so the same tables give byte-identical files.
"""

from __future__ import annotations

import io
import math
from typing import Any, Callable

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from corpus_audit.report.run import RunData

TOP_LANGUAGES = 20
TOP_DESCRIPTORS = 5
TOP_GENDER_GAP_LANGUAGES = 20
BAR_COLOUR = "#4C72B0"
OTHER_COLOUR = "#9AA5B1"
GENDER_COLOURS = {"masculine": "#4C72B0", "feminine": "#DD8452", "unspecified": "#55A868"}
PRONOUN_LABELS = {
    "gendered": "Gendered", "she": "She", "he": "He", "unspecified": "Unspecified",
    "any": "Any pronoun", "first_person": "1st person", "second_person": "2nd person",
    "third_person": "3rd person",
}
GENDER_ROWS = ("gendered", "she", "he", "unspecified")
PERSON_ROWS = ("any", "first_person", "second_person", "third_person")
#: rcParams that make output reproducible and legible.
RC = {
    "svg.hashsalt": "corpus-audit",
    "svg.fonttype": "path",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
}
SAVE_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
}


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _title(figure: Figure, title: str, subtitle: str) -> None:
    figure.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    figure.text(0.01, 1.0 - 0.42 / figure.get_figheight() - 0.02, subtitle, ha="left", va="top",
                fontsize=9, color="#444444")


def _layout(figure: Figure, top_inches: float = 0.85, bottom_inches: float = 0.6, left: float = 0.3,
            right: float = 0.97, **kwargs: float) -> None:
    height = figure.get_figheight()
    figure.subplots_adjust(top=1 - top_inches / height, bottom=bottom_inches / height, left=left, right=right,
                           **kwargs)


def _fmt_int(value: Any) -> str:
    return f"{int(value or 0):,}"


def _fmt_percent(value: Any) -> str:
    value = float(value or 0.0)
    if value == 0:
        return "0%"
    if value < 0.01:
        return f"{value:.4f}%"
    if value < 1:
        return f"{value:.2f}%"
    return f"{value:.1f}%"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _corpus_title(run: RunData, what: str) -> str:
    return f"{what} — {run.corpus_name} ({run.documents_analysed:,} documents)"


# ----------------------------------------------------------------------------- languages


def plot_languages(run: RunData) -> Figure | None:
    rows = run.table("languages")
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: (-int(r["documents"]), str(r["language"])))
    shown = rows[:TOP_LANGUAGES]
    rest = rows[TOP_LANGUAGES:]
    labels = [str(r["language"]) for r in shown]
    counts = [int(r["documents"]) for r in shown]
    percents = [float(r["percent"]) for r in shown]
    colours = [BAR_COLOUR] * len(shown)
    if rest:
        labels.append(f"other ({_plural(len(rest), 'language')})")
        counts.append(sum(int(r["documents"]) for r in rest))
        percents.append(100.0 * counts[-1] / sum(int(r["documents"]) for r in rows))
        colours.append(OTHER_COLOUR)
    figure = _new_figure(8.0, 1.6 + 0.3 * len(labels))
    _layout(figure, left=0.22, right=0.95)
    ax = figure.add_subplot()
    positions = range(len(labels))
    ax.barh(positions, counts, color=colours, height=0.7)
    ax.set_yticks(list(positions), labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(0.7, max(counts) * 8)
    ax.set_xlabel("documents (log scale)")
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6, which="major")
    for y, (count, share) in enumerate(zip(counts, percents)):
        ax.text(count * 1.15, y, f"{count:,}  ({_fmt_percent(share)})", va="center", fontsize=8.5)
    threshold = (run.stages.get("langid") or {}).get("threshold")
    rule = f"top label kept when p ≥ {threshold}, else 'unknown'" if threshold is not None else "fastText lid.176"
    _title(figure, _corpus_title(run, "Languages"),
           f"fastText language ID, {rule}; "
           + (f"{len(rows)} labels, top {TOP_LANGUAGES} shown + other" if rest else f"all {len(rows)} labels shown"))
    return figure


# ----------------------------------------------------------------------------- pronouns


def _hbar_percent(ax, labels: list[str], values: list[float], annotations: list[str], colour: str = BAR_COLOUR):
    positions = list(range(len(labels)))
    ax.barh(positions, values, color=colour, height=0.65)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 128)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("% of documents")
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    for y, (value, text) in enumerate(zip(values, annotations)):
        ax.text(value + 1.5, y, text, va="center", fontsize=8.5)


def plot_pronouns(run: RunData) -> Figure | None:
    rows = {str(r["group"]): r for r in run.table("pronouns") or []}
    if not rows:
        return None
    figure = _new_figure(11.0, 3.6)
    _layout(figure, left=0.13, right=0.98, wspace=0.55, top_inches=1.05, bottom_inches=0.55)
    panels = [("Gender pronouns", GENDER_ROWS), ("Grammatical person", PERSON_ROWS)]
    for index, (title, groups) in enumerate(panels, start=1):
        ax = figure.add_subplot(1, 2, index)
        present = [group for group in groups if group in rows]
        labels = []
        for group in present:
            denominator = int(rows[group].get("denominator") or 0)
            base = "gendered docs" if group in ("she", "he", "unspecified") else "docs"
            labels.append(f"{PRONOUN_LABELS.get(group, group)}\nof {denominator:,} {base}")
        values = [float(rows[group]["percent"]) for group in present]
        notes = [f"{_fmt_percent(rows[g]['percent'])} ({_fmt_int(rows[g]['documents'])})" for g in present]
        _hbar_percent(ax, labels, values, notes)
        ax.set_xlabel("% of the documents under each label")
        ax.set_title(title, loc="left", fontsize=10.5)
        ax.tick_params(axis="y", labelsize=8.5)
    applied = (run.stages.get("pronouns") or {}).get("english_lexicons_on")
    scope = "English lexicons applied to " + ("every document" if applied == "all" else "English documents")
    _title(figure, _corpus_title(run, "Pronouns (Llama 2 Table 9a)"),
           f"% of documents mentioning each group at least once (gendered = she, he or unspecified); {scope}")
    return figure


# ----------------------------------------------------------------------------- descriptors


def plot_descriptors(run: RunData) -> Figure | None:
    axes_rows = run.table("descriptor_axes")
    descriptor_rows = run.table("descriptors")
    if not axes_rows or descriptor_rows is None:
        return None
    by_axis: dict[str, list[dict[str, Any]]] = {}
    for row in descriptor_rows:
        by_axis.setdefault(str(row["axis"]), []).append(row)
    axes_list = [str(r["axis"]) for r in axes_rows]
    ncols = 2
    nrows = math.ceil(len(axes_list) / ncols)
    figure = _new_figure(11.0, 0.9 + 2.0 * nrows)
    _layout(figure, left=0.14, right=0.98, wspace=0.55, hspace=0.75, bottom_inches=0.55, top_inches=0.95)
    for index, axis_row in enumerate(axes_rows, start=1):
        axis = str(axis_row["axis"])
        ax = figure.add_subplot(nrows, ncols, index)
        top = sorted(by_axis.get(axis, []), key=lambda r: (_rank(r), -int(r["documents"]), str(r["descriptor"])))
        top = [r for r in top if int(r["documents"]) > 0][:TOP_DESCRIPTORS]
        ax.set_title(f"{axis.replace('_', ' ')}: {_fmt_percent(axis_row['percent'])} of documents "
                     f"({_fmt_int(axis_row['documents'])})", loc="left", fontsize=10)
        if not top:
            ax.text(0.5, 0.5, "no descriptor of this axis found", ha="center", va="center",
                    transform=ax.transAxes, color="#666666")
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        labels = [_descriptor_label(str(r["descriptor"]), axis) for r in top]
        values = [float(r["percent"]) for r in top]
        notes = [f"{_fmt_percent(r['percent'])} ({_fmt_int(r['documents'])})" for r in top]
        _hbar_percent(ax, labels, values, notes)
        ax.set_ylim(TOP_DESCRIPTORS - 0.5, -0.5)  # same bar height whatever the count
        ax.set_xlabel("% of the axis' documents", fontsize=9)
    for index in range(len(axes_rows) + 1, nrows * ncols + 1):
        figure.add_subplot(nrows, ncols, index).set_visible(False)
    _title(figure, _corpus_title(run, "HolisticBias descriptors (Llama 2 Table 9b)"),
           f"Top {TOP_DESCRIPTORS} descriptors per axis, % of documents mentioning the axis")
    return figure


def _rank(row: dict[str, Any]) -> int:
    rank = row.get("rank")
    return int(rank) if rank is not None else 1 << 30


def _descriptor_label(descriptor: str, axis: str) -> str:
    prefix = f"{axis}:"
    label = descriptor[len(prefix):] if descriptor.startswith(prefix) else descriptor
    return label if len(label) <= 24 else label[:23] + "…"


# ----------------------------------------------------------------------------- gender-gap


def gender_gap_rows(run: RunData) -> list[dict[str, Any]]:
    """Languages with a lexicon and text, most documents first."""
    rows = [r for r in run.table("gender_gap") or []
            if str(r.get("lexicon")) != "no_lexicon" and int(r.get("tokens") or 0) > 0]
    return sorted(rows, key=lambda r: (-int(r["documents"]), str(r["language"])))


def plot_gender_gap(run: RunData) -> Figure | None:
    rows = gender_gap_rows(run)[:TOP_GENDER_GAP_LANGUAGES]
    if not rows:
        return None
    labels = [f"{r['language']}  ({_plural(int(r['documents']), 'doc')})" for r in rows]
    genders = ("masculine", "feminine", "unspecified")
    figure = _new_figure(11.0, 1.9 + 0.34 * len(rows))
    _layout(figure, left=0.15, right=0.98, wspace=0.35, top_inches=1.15, bottom_inches=0.6)
    rates = figure.add_subplot(1, 2, 1)
    shares = figure.add_subplot(1, 2, 2, sharey=rates)
    positions = list(range(len(rows)))
    height = 0.26
    for offset, gender in enumerate(genders):
        # Recomputed from the counts: independent of how the table rounds its rate columns.
        values = [100.0 * int(r[gender] or 0) / int(r["tokens"]) for r in rows]
        rates.barh([p + (offset - 1) * height for p in positions], values, height=height,
                   color=GENDER_COLOURS[gender], label=gender)
    rates.set_yticks(positions, labels)
    rates.invert_yaxis()
    rates.set_xlabel("gendered nouns per 100 tokens")
    rates.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    rates.set_title("Rate", loc="left", fontsize=10.5)
    left = [0.0] * len(rows)
    for gender in genders:
        matches = [int(r["masculine"] or 0) + int(r["feminine"] or 0) + int(r["unspecified"] or 0) for r in rows]
        values = [100.0 * int(r[gender] or 0) / m if m else 0.0 for r, m in zip(rows, matches)]
        shares.barh(positions, values, left=left, height=0.65, color=GENDER_COLOURS[gender])
        for y, (start, value) in enumerate(zip(left, values)):
            if value >= 9:
                shares.text(start + value / 2, y, f"{value:.0f}%", ha="center", va="center", fontsize=8,
                            color="white")
        left = [a + b for a, b in zip(left, values)]
    for y, r in enumerate(rows):
        if sum(int(r[g] or 0) for g in genders) == 0:
            shares.text(2, y, "no match", va="center", fontsize=8, color="#666666")
    shares.set_xlim(0, 100)
    shares.set_xlabel("share of matched gendered nouns (%)")
    shares.tick_params(axis="y", labelleft=False)
    shares.set_title("Share", loc="left", fontsize=10.5)
    handles, names = rates.get_legend_handles_labels()
    figure.legend(handles, names, loc="upper right", ncol=3, frameon=False, fontsize=9,
                  bbox_to_anchor=(0.99, 1 - 0.3 / figure.get_figheight()))
    _title(figure, _corpus_title(run, "Gender-GAP: gendered person nouns per language"),
           "Languages with a Gender-GAP lexicon"
           + (f", top {TOP_GENDER_GAP_LANGUAGES} by documents" if len(rows) == TOP_GENDER_GAP_LANGUAGES else ""))
    return figure


# ----------------------------------------------------------------------------- toxicity


def toxicity_overall(run: RunData) -> dict[str, Any] | None:
    for row in run.table("toxicity_summary") or []:
        if str(row.get("scope")) == "all":
            return row
    return None


def plot_toxicity(run: RunData) -> Figure | None:
    rows = run.table("toxicity_histogram")
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: float(r["bin_lower"]))
    lows = [float(r["bin_lower"]) for r in rows]
    highs = [float(r["bin_upper"]) for r in rows]
    counts = [int(r["documents"]) for r in rows]
    figure = _new_figure(8.0, 4.4)
    _layout(figure, left=0.11, right=0.97, top_inches=0.9, bottom_inches=0.65)
    ax = figure.add_subplot()
    ax.bar(lows, counts, width=[h - l for l, h in zip(lows, highs)], align="edge", color=BAR_COLOUR,
           edgecolor="white", linewidth=0.8)
    ax.set_yscale("log")
    top = max(counts) if any(counts) else 1
    ax.set_ylim(0.5, top * 6)
    ax.set_xlim(min(lows), max(highs))
    ax.set_xticks(sorted(set(lows) | set(highs)))
    ax.set_xlabel("document toxicity score (mean of its lines' scores)")
    ax.set_ylabel("documents (log scale)")
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.6)
    for low, high, count in zip(lows, highs, counts):
        ax.text((low + high) / 2, max(count, 0.55) * 1.15, f"{count:,}", ha="center", va="bottom", fontsize=8.5)
    ax.axvline(0.5, color="#C44E52", linestyle="--", linewidth=1)
    overall = toxicity_overall(run)
    scored = sum(counts)
    subtitle = f"{scored:,} scored documents (a sample)"
    if overall is not None:
        ci = ""
        if overall.get("percent_ci_low") is not None and overall.get("percent_ci_high") is not None:
            ci = f", 95% CI {float(overall['percent_ci_low']):.2f}–{float(overall['percent_ci_high']):.2f}%"
        subtitle += f"; score ≥ 0.5: {_fmt_percent(overall['percent'])}{ci}"
        ax.text(0.505, top * 3, "toxic (≥ 0.5)", color="#C44E52", fontsize=8.5, va="center")
    model = (run.stages.get("toxicity") or {}).get("model")
    if model:
        subtitle += f"; model {model}"
    _title(figure, _corpus_title(run, "Toxicity (Llama 2 Figure 13)"), subtitle)
    return figure


#: Plot name → drawing function (None when its table is absent).
PLOTS: dict[str, Callable[[RunData], Figure | None]] = {
    "languages": plot_languages,
    "pronouns": plot_pronouns,
    "descriptors": plot_descriptors,
    "gender_gap": plot_gender_gap,
    "toxicity": plot_toxicity,
}


def available_plots(run: RunData) -> list[str]:
    """Names of the plots ``render_plots`` draws for this run (cheap: no drawing)."""
    available = {
        "languages": bool(run.table("languages")),
        "pronouns": bool(run.table("pronouns")),
        "descriptors": bool(run.table("descriptor_axes")) and run.table("descriptors") is not None,
        "gender_gap": bool(gender_gap_rows(run)),
        "toxicity": bool(run.table("toxicity_histogram")),
    }
    return [name for name in PLOTS if available[name]]


def render_plots(run: RunData) -> dict[str, bytes]:
    """``{"<name>.png": bytes, "<name>.svg": bytes}`` for every plot whose table exists."""
    files: dict[str, bytes] = {}
    with matplotlib.rc_context(RC):
        for name in available_plots(run):
            figure = PLOTS[name](run)
            if figure is None:  # pragma: no cover - available_plots mirrors each plot's own check
                continue
            for fmt in ("png", "svg"):
                buffer = io.BytesIO()
                figure.savefig(buffer, format=fmt, metadata=SAVE_METADATA[fmt], dpi=110 if fmt == "png" else None)
                files[f"{name}.{fmt}"] = buffer.getvalue()
    return files
