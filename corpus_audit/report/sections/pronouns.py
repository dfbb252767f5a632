"""Report of the ``pronouns`` stage: the ``pronouns`` table (Llama 2 Table 9a), its plot and datasheet section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from corpus_audit.report.blocks import Paragraph, TableBlock, code
from corpus_audit.report.formatting import fmt_int, fmt_percent, md
from corpus_audit.report.registry import ReportSection
from corpus_audit.report.run import RunData

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from matplotlib.figure import Figure

    from corpus_audit.report.datasheet import DatasheetBuilder

__all__ = ["GROUPS", "GENDER_ROWS", "PERSON_ROWS", "PronounGroup", "SECTION", "datasheet", "facts", "groups", "plot"]


@dataclass(frozen=True)
class PronounGroup:
    """How a row of the table is labelled: short in the plot, longer in the datasheet."""

    plot_label: str
    label: str
    #: The row's denominator is the gendered documents (she / he / unspecified), not all of them.
    of_gendered: bool


GROUPS: dict[str, PronounGroup] = {
    "gendered": PronounGroup("Gendered", "Gendered (she, he or unspecified)", False),
    "she": PronounGroup("She", "She", True),
    "he": PronounGroup("He", "He", True),
    "unspecified": PronounGroup("Unspecified", "Unspecified (they, ...)", True),
    "any": PronounGroup("Any pronoun", "Any pronoun", False),
    "first_person": PronounGroup("1st person", "1st person", False),
    "second_person": PronounGroup("2nd person", "2nd person", False),
    "third_person": PronounGroup("3rd person", "3rd person", False),
}
GENDER_ROWS = ("gendered", "she", "he", "unspecified")
PERSON_ROWS = ("any", "first_person", "second_person", "third_person")


def groups(run: RunData) -> dict[str, dict[str, Any]]:
    """The table's rows by group."""
    return {str(r["group"]): r for r in run.table("pronouns") or []}


def produced_nothing(run: RunData) -> str | None:
    """Why the table has no figure: no document was in the lists' scope."""
    count, noun = run.lexicon_scope("pronouns")
    if run.table("pronouns") and count == 0:
        return f"no document in scope (0 {noun}); the English lists were applied to none"
    return None


def plottable(run: RunData) -> bool:
    return bool(run.table("pronouns"))


def plot(run: RunData) -> Figure | None:
    from corpus_audit.report.plots import add_title, corpus_title, hbar_percent, layout, new_figure, percent_note

    rows = groups(run)
    if not rows:
        return None
    figure = new_figure(11.0, 3.6)
    layout(figure, left=0.16, right=0.98, wspace=0.62, top_inches=1.05, bottom_inches=0.55)
    panels = [("Gender pronouns", GENDER_ROWS), ("Grammatical person", PERSON_ROWS)]
    for index, (title, names) in enumerate(panels, start=1):
        ax = figure.add_subplot(1, 2, index)
        present = [group for group in names if group in rows]
        labels = []
        for group in present:
            denominator = int(rows[group].get("denominator") or 0)
            base = "gendered docs" if GROUPS[group].of_gendered else "docs"
            labels.append(f"{GROUPS[group].plot_label}\nof {denominator:,} {base}")
        values = [float(rows[group]["percent"]) for group in present]
        notes = [percent_note(rows[g]["percent"], rows[g]["documents"]) for g in present]
        hbar_percent(ax, labels, values, notes)
        ax.set_xlabel("% of the documents under each label")
        ax.set_title(title, loc="left", fontsize=10.5)
        ax.tick_params(axis="y", labelsize=8.5)
    applied = run.stage_settings("pronouns").get("english_lexicons_on")
    scope = "English lexicons applied to " + ("every document" if applied == "all" else "English documents")
    count, noun = run.lexicon_scope("pronouns")
    add_title(figure, corpus_title(run, "Pronouns (Llama 2 Table 9a)", f"{count:,} {noun}"),
              f"% of documents mentioning each group at least once (gendered = she, he or unspecified); {scope}")
    return figure


def datasheet(builder: DatasheetBuilder) -> None:
    run = builder.run
    scope = run.stage_settings("pronouns").get("english_lexicons_on")
    coverage = ("every document" if scope == "all" else "documents identified as English") if scope else \
        "the documents the English word lists applied to"
    count, noun = run.lexicon_scope("pronouns")
    builder.add(Paragraph("Documents mentioning each pronoun group at least once (word lists of the Llama 2 "
                          f"paper, Appendix A.4.3). The English lists were applied to {coverage} "
                          f"({fmt_int(count)} {noun}); each row's denominator is given: the gendered, "
                          f"any-pronoun and person rows are of the {fmt_int(count)} {noun}, she / he / "
                          "unspecified of the gendered ones."))
    body = []
    for row in run.table("pronouns") or []:
        group = GROUPS.get(str(row["group"]))
        label = group.label if group is not None else md(row["group"])
        base = "gendered documents" if group is not None and group.of_gendered else "documents"
        body.append([code(row["group"]), label, fmt_int(row["documents"]), fmt_int(row.get("denominator")),
                     base, fmt_percent(row["percent"], denominator=row.get("denominator"))])
    builder.add(TableBlock(["group", "label", "documents", "denominator", "of", "percent"], body))
    builder.plot(SECTION.name, "Pronoun groups")


def facts(run: RunData) -> list[str]:
    rows = groups(run)
    if "she" not in rows or "he" not in rows:
        return []
    denominator = rows["she"].get("denominator")
    count, noun = run.lexicon_scope("pronouns")
    return [f"Of the {fmt_int(denominator)} gendered documents (of {fmt_int(count)} {noun}), "
            f"{fmt_percent(rows['she']['percent'], 'short', denominator)} use a she pronoun "
            f"and {fmt_percent(rows['he']['percent'], 'short', denominator)} a he pronoun."]


SECTION = ReportSection(
    name="pronouns",
    stage="pronouns",
    title="Demographic representation: pronouns (Llama 2 Table 9a)",
    description="the pronoun analysis",
    tables={"pronouns": ("group",)},
    columns={"pronouns": ("documents", "percent")},
    datasheet=datasheet,
    plot=plot,
    plottable=plottable,
    facts=facts,
    produced_nothing=produced_nothing,
)
