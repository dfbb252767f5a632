"""A datasheet for the audited corpus (Gebru et al., "Datasheets for Datasets", CACM 2021).

Sections: Motivation, Composition, Collection process, Preprocessing/cleaning/labeling, Uses,
Distribution, Maintenance. Everything the run measured is filled in from ``summary.json`` and
the tables; questions only the corpus' authors can answer are prompts
(``> **[Authors: ...]**``) unless a metadata YAML answers them.

The datasheet is built as a list of blocks rendered twice (Markdown, HTML), and holds nothing
that changes between two reports of the same run: no time of generation, no timings.
"""

from __future__ import annotations

import html
import json
import re
import shlex
from dataclasses import dataclass
from typing import Any, Union

from corpus_audit.report.metadata import PROMPTS
from corpus_audit.report.plots import available_plots, gender_gap_rows, toxicity_overall
from corpus_audit.report.run import RunData
from corpus_audit.stats import wilson_percent_interval

TOP_LANGUAGES = 20
TOP_DESCRIPTORS = 5
TOP_TOXICITY_GROUPS = 15
PRONOUN_ROWS = {
    "gendered": ("Gendered (she, he or unspecified)", "documents"),
    "she": ("She", "gendered documents"),
    "he": ("He", "gendered documents"),
    "unspecified": ("Unspecified (they, ...)", "gendered documents"),
    "any": ("Any pronoun", "documents"),
    "first_person": ("1st person", "documents"),
    "second_person": ("2nd person", "documents"),
    "third_person": ("3rd person", "documents"),
}
SECTION_TITLES = {
    "motivation": "1. Motivation",
    "composition": "2. Composition",
    "collection": "3. Collection process",
    "preprocessing": "4. Preprocessing, cleaning and labeling",
    "uses": "5. Uses",
    "distribution": "6. Distribution",
    "maintenance": "7. Maintenance",
}
#: Reading settings about how a run executed, not what it measured: left out of the datasheet.
EXECUTION_SETTINGS = frozenset({"runner", "workers", "checkpoint_dir", "dry_run"})


# ----------------------------------------------------------------------------- blocks


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Paragraph:
    text: str  # inline markup: **bold** and `code` only


@dataclass
class Bullets:
    items: list[str]


@dataclass
class TableBlock:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Code:
    text: str


@dataclass
class Image:
    path: str
    alt: str


@dataclass
class Prompt:
    """A question for the corpus' authors, with their answer when the metadata gave one."""

    key: str
    question: str
    answer: str | None


Block = Union[Heading, Paragraph, Bullets, TableBlock, Code, Image, Prompt]


# ----------------------------------------------------------------------------- formatting


def fmt_int(value: Any) -> str:
    return f"{int(value):,}" if value is not None else "–"


def fmt_percent(value: Any) -> str:
    return f"{float(value):.4f}" if value is not None else "–"


def fmt_number(value: Any) -> str:
    """Integers with separators, floats with 4 decimals (as the tables' percent columns)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def fmt_setting(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "(none)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if value is None:
        return "(none)"
    return str(value)


def code(text: Any) -> str:
    return "`" + str(text).replace("`", "'") + "`"


# ----------------------------------------------------------------------------- content


class DatasheetBuilder:
    """Collects the blocks of one datasheet for ``run`` with the authors' ``answers``."""

    def __init__(self, run: RunData, answers: dict[tuple[str, str], str] | None = None) -> None:
        self.run = run
        self.summary = run.summary
        self.answers = answers or {}
        self.plots = set(available_plots(run))
        self.blocks: list[Block] = []

    # helpers
    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def prompt(self, section: str, key: str) -> None:
        self.add(Prompt(f"{section}.{key}", PROMPTS[section][key], self.answers.get((section, key))))

    def prompts(self, section: str) -> None:
        for key in PROMPTS[section]:
            self.prompt(section, key)

    def plot(self, name: str, alt: str) -> None:
        if name in self.plots:
            self.add(Image(f"plots/{name}.png", alt))

    def stage_missing(self, stage: str, what: str, tables: tuple[str, ...]) -> bool:
        """Add a 'not run' / 'not computed' line when the stage's tables are absent."""
        if self.run.has(*tables):
            return False
        if not self.run.stage_ran(stage):
            stages = ",".join((self.summary.get("settings") or {}).get("stages") or self.run.stages) or "none"
            self.add(Paragraph(f"**Not run:** {what} was not part of this run (stage {code(stage)}; the run's "
                               f"stages: {code(stages)})."))
            return True
        settings = self.run.stages.get(stage) or {}
        status, reason = settings.get("status"), settings.get("reason")
        detail = f" ({code(status)})" if status else ""
        because = f": {reason}" if reason else ": the run wrote no table for it"
        self.add(Paragraph(f"**Not computed**{detail}{because}."))
        return True

    # sections
    def build(self) -> list[Block]:
        summary = self.summary
        self.add(Heading(1, f"Datasheet: {self.run.corpus_name}"))
        command = shlex.join(str(part) for part in summary.get("command") or [])
        self.add(Paragraph(
            "This datasheet follows Gebru et al., \"Datasheets for Datasets\" (Communications of the ACM, 2021). "
            f"The numbers were measured by corpus-audit {summary.get('corpus_audit_version', '?')} "
            "(Llama 2 §4.1 analyses) in the run described in section 4; they are exact counts over the analysed "
            "documents, except the toxicity figures, which are estimated on a sample and given with Wilson 95% "
            "confidence intervals. Percentages are percent of documents (a document counts once however often "
            "a term occurs)."))
        self.add(Paragraph(
            "Lines marked **[Authors: ...]** are questions the audit cannot answer; answer them in a YAML file and "
            f"run {code('corpus-audit datasheet RUN_DIR --metadata meta.yaml')}."))
        self.motivation()
        self.composition()
        self.collection()
        self.preprocessing(command)
        self.uses()
        self.add(Heading(2, SECTION_TITLES["distribution"]))
        self.prompts("distribution")
        self.add(Heading(2, SECTION_TITLES["maintenance"]))
        self.prompts("maintenance")
        return self.blocks

    def motivation(self) -> None:
        self.add(Heading(2, SECTION_TITLES["motivation"]))
        self.prompts("motivation")

    def composition(self) -> None:
        summary = self.summary
        self.add(Heading(2, SECTION_TITLES["composition"]))
        self.prompt("composition", "instances")
        self.prompt("composition", "sampling")
        self.add(Heading(3, "Size"))
        skipped = summary.get("documents_skipped") or {}
        rows = [
            ["documents read", fmt_int(summary.get("documents_read", 0))],
            ["documents analysed", fmt_int(summary.get("documents_analysed", 0))],
            ["documents skipped", fmt_int(sum(skipped.values()))],
            ["bytes read (uncompressed records)", fmt_int(summary.get("bytes_read", 0))],
        ]
        languages = self.run.table("languages")
        if languages and "characters" in self.run.columns.get("languages", []):
            rows.append(["characters analysed", fmt_int(sum(int(r["characters"] or 0) for r in languages))])
        rows += [
            ["input files read", fmt_int(summary.get("input_files", 0))],
            ["files not read (unsupported suffix or hidden directory)", fmt_int(summary.get("ignored_files_count", 0))],
            ["blank lines ignored", fmt_int(summary.get("blank_lines_ignored", 0))],
            ["lone surrogates replaced", fmt_int(summary.get("lone_surrogates_replaced", 0))],
        ]
        self.add(TableBlock(["quantity", "value"], rows))
        balanced = summary.get("accounting_balanced")
        if balanced is False:
            self.add(Paragraph("**Warning:** documents read ≠ documents analysed + skipped in this run."))
        self.add(Heading(3, "Skipped input"))
        if skipped:
            read = int(summary.get("documents_read") or 0)
            self.add(Paragraph("Records the audit could not analyse, by reason (one record per skip in "
                               f"{code('skipped/*.jsonl')}, with an excerpt):"))
            self.add(TableBlock(["reason", "documents", "percent of read"],
                                [[code(reason), fmt_int(count), fmt_percent(_percent(count, read))]
                                 for reason, count in skipped.items()]))
        else:
            self.add(Paragraph("No record was skipped."))
        self.languages()
        self.pronouns()
        self.descriptors()
        self.gender_gap()
        self.toxicity()
        self.prompt("composition", "sensitive_data")
        self.prompt("composition", "offensive_content")

    def languages(self) -> None:
        self.add(Heading(3, "Languages (Llama 2 Table 10)"))
        if self.stage_missing("langid", "language identification", ("languages",)):
            return
        rows = self.run.table("languages") or []
        settings = self.run.stages.get("langid") or {}
        model = settings.get("model_file") or settings.get("model") or "fastText lid.176"
        threshold = settings.get("threshold")
        rule = f", kept when its probability is ≥ {threshold}, else {code('unknown')}" if threshold is not None else ""
        self.add(Paragraph(f"Language of each document: the top label of fastText {code(model)}{rule}. "
                           f"{len(rows):,} labels; percent of the {fmt_int(self.run.documents_analysed)} analysed "
                           f"documents. The top {TOP_LANGUAGES} are listed; {code('tables/languages.csv')} has all."))
        has_chars = "characters" in self.run.columns.get("languages", [])
        header = ["language", "documents", "percent"] + (["characters"] if has_chars else [])
        body = []
        for row in rows[:TOP_LANGUAGES]:
            body.append([str(row["language"]), fmt_int(row["documents"]), fmt_percent(row["percent"])]
                        + ([fmt_int(row["characters"])] if has_chars else []))
        rest = rows[TOP_LANGUAGES:]
        if rest:
            # Recomputed from counts: a sum of rounded percents could be off in the last decimal.
            other = sum(int(r["documents"]) for r in rest)
            body.append([f"other ({len(rest)} language{'' if len(rest) == 1 else 's'})", fmt_int(other),
                         fmt_percent(_percent(other, sum(int(r["documents"]) for r in rows)))]
                        + ([fmt_int(sum(int(r["characters"] or 0) for r in rest))] if has_chars else []))
        self.add(TableBlock(header, body))
        self.plot("languages", "Language distribution")

    def pronouns(self) -> None:
        self.add(Heading(3, "Demographic representation: pronouns (Llama 2 Table 9a)"))
        if self.stage_missing("pronouns", "the pronoun analysis", ("pronouns",)):
            return
        settings = self.run.stages.get("pronouns") or {}
        scope = settings.get("english_lexicons_on")
        coverage = ("every document" if scope == "all" else "documents identified as English") if scope else \
            "the documents the English word lists applied to"
        self.add(Paragraph("Documents mentioning each pronoun group at least once (word lists of the Llama 2 "
                           f"paper, Appendix A.4.3). The English lists were applied to {coverage}; each row's "
                           "denominator is given."))
        body = []
        for row in self.run.table("pronouns") or []:
            label, base = PRONOUN_ROWS.get(str(row["group"]), (str(row["group"]), "documents"))
            body.append([code(row["group"]), label, fmt_int(row["documents"]), fmt_int(row.get("denominator")),
                         base, fmt_percent(row["percent"])])
        self.add(TableBlock(["group", "label", "documents", "denominator", "of", "percent"], body))
        self.plot("pronouns", "Pronoun groups")

    def descriptors(self) -> None:
        self.add(Heading(3, "Demographic representation: HolisticBias descriptors (Llama 2 Table 9b)"))
        if self.stage_missing("descriptors", "the HolisticBias descriptor analysis", ("descriptor_axes", "descriptors")):
            return
        settings = self.run.stages.get("descriptors") or {}
        lexicon = " ".join(str(settings[k]) for k in ("lexicon", "lexicon_version") if settings.get(k))
        self.add(Paragraph("Documents mentioning a descriptor of each axis, percent of all analysed documents"
                           + (f" (lexicon {code(lexicon)})" if lexicon else "") + ":"))
        axes = self.run.table("descriptor_axes") or []
        self.add(TableBlock(["axis", "documents", "percent"],
                            [[str(r["axis"]), fmt_int(r["documents"]), fmt_percent(r["percent"])] for r in axes]))
        self.add(Paragraph(f"Top {TOP_DESCRIPTORS} descriptors per axis; percent of the documents mentioning "
                           f"that axis ({code('tables/descriptors.csv')} has every descriptor):"))
        by_axis: dict[str, list[dict[str, Any]]] = {}
        for row in self.run.table("descriptors") or []:
            by_axis.setdefault(str(row["axis"]), []).append(row)
        body = []
        for axis_row in axes:
            axis = str(axis_row["axis"])
            ranked = sorted(by_axis.get(axis, []),
                            key=lambda r: (r.get("rank") if r.get("rank") is not None else 1 << 30,
                                           -int(r["documents"]), str(r["descriptor"])))
            for row in [r for r in ranked if int(r["documents"]) > 0][:TOP_DESCRIPTORS]:
                body.append([axis, fmt_int(row.get("rank")), str(row["descriptor"]), fmt_int(row["documents"]),
                             fmt_percent(row["percent"])])
        if body:
            self.add(TableBlock(["axis", "rank", "descriptor", "documents", "percent"], body))
        else:
            self.add(Paragraph("No descriptor was found."))
        self.plot("descriptors", "Top descriptors per axis")

    def gender_gap(self) -> None:
        self.add(Heading(3, "Gendered person nouns (Gender-GAP, Muller et al. 2023)"))
        if self.stage_missing("gender_gap", "the Gender-GAP analysis", ("gender_gap",)):
            return
        settings = self.run.stages.get("gender_gap") or {}
        lexicon = " ".join(str(settings[k]) for k in ("lexicon", "lexicon_version") if settings.get(k))
        all_rows = self.run.table("gender_gap") or []
        rows = gender_gap_rows(self.run)
        without = [r for r in all_rows if str(r.get("lexicon")) == "no_lexicon"]
        self.add(Paragraph(
            "Matches of gendered person nouns in the lexicon of each document's language"
            + (f" ({code(lexicon)})" if lexicon else "") + ": counts, per 100 tokens, share of each gender "
            "among the matches, and percent of the language's documents with at least one match."))
        columns = self.run.columns.get("gender_gap", [])
        extra = [c for c in ("masculine_per_100_tokens", "feminine_per_100_tokens", "unspecified_per_100_tokens",
                             "masculine_share", "feminine_share", "unspecified_share") if c in columns]
        header = ["language", "lexicon", "documents", "tokens", "masculine", "feminine", "unspecified", *extra,
                  "percent"]
        body = [[str(r["language"]), str(r["lexicon"]), fmt_int(r["documents"]), fmt_int(r["tokens"]),
                 fmt_int(r["masculine"]), fmt_int(r["feminine"]), fmt_int(r["unspecified"]),
                 *[fmt_number(_as_float(r.get(c))) for c in extra], fmt_percent(r.get("percent"))] for r in rows]
        if body:
            self.add(TableBlock(header, body))
        else:
            self.add(Paragraph("No analysed document is in a language with a Gender-GAP lexicon."))
        if without:
            documents = sum(int(r["documents"]) for r in without)
            self.add(Paragraph(f"Not covered: {fmt_int(documents)} documents in {len(without):,} languages without "
                               f"a lexicon ({code('no_lexicon')} rows of {code('tables/gender_gap.csv')})."))
        self.plot("gender_gap", "Gender-GAP rates per language")

    def toxicity(self) -> None:
        self.add(Heading(3, "Toxicity (Llama 2 Figure 13) — sampled"))
        if self.stage_missing("toxicity", "toxicity scoring", ("toxicity_histogram", "toxicity_summary")):
            return
        settings = self.run.stages.get("toxicity") or {}
        # The stage's settings name the rate; accept the spellings a sampling setting commonly has.
        rate = next((settings[k] for k in ("sample_rate", "sample_fraction", "sampling_rate") if settings.get(k) is not None),
                    None)
        sample = (f"a deterministic ~{100 * float(rate):g}% sample of the documents (chosen by a hash of the "
                  "document id)") if rate is not None else "a deterministic sample of the documents"
        model = settings.get("model") or "the ToxiGen-fine-tuned HateBERT"
        self.add(Paragraph(f"**These numbers are sampled estimates.** Only {sample} was scored, with "
                           f"{code(model)}; each non-blank line is scored and a document's score is the mean of its "
                           "lines' scores. Percentages of toxic documents (score ≥ 0.5) carry a Wilson 95% "
                           "confidence interval."))
        overall = toxicity_overall(self.run)
        if overall is not None:
            low, high = _interval(overall)
            rows = [["documents scored (sample)", fmt_int(overall["documents"])],
                    ["lines scored", fmt_int(overall.get("lines"))],
                    ["toxic documents (score ≥ 0.5)", fmt_int(overall["toxic_documents"])],
                    ["percent toxic (sampled estimate)", fmt_percent(overall["percent"])],
                    ["95% CI low (Wilson)", fmt_percent(low)],
                    ["95% CI high (Wilson)", fmt_percent(high)]]
            rows += [[f"score {name}", fmt_number(_as_float(overall.get(name)))]
                     for name in ("mean", "p50", "p90", "p99", "p99_9") if name in overall]
            self.add(TableBlock(["quantity", "value"], rows))
        histogram = sorted(self.run.table("toxicity_histogram") or [], key=lambda r: float(r["bin_lower"]))
        self.add(Paragraph("Distribution of document scores:"))
        self.add(TableBlock(["bin_lower", "bin_upper", "documents", "fraction"],
                            [[f"{float(r['bin_lower']):g}", f"{float(r['bin_upper']):g}", fmt_int(r["documents"]),
                              fmt_number(_as_float(r.get("fraction")))] for r in histogram]))
        self.plot("toxicity", "Toxicity histogram")
        for scope, label in (("language", "language"), ("axis", "HolisticBias axis")):
            groups = [r for r in self.run.table("toxicity_summary") or [] if str(r.get("scope")) == scope]
            if not groups:
                continue
            groups = sorted(groups, key=lambda r: (-int(r["documents"]), str(r["group"])))
            shown = groups[:TOP_TOXICITY_GROUPS]
            self.add(Paragraph(f"By {label} (sampled; the {len(shown)} with most scored documents"
                               + (f" of {len(groups)}" if len(groups) > len(shown) else "") + "):"))
            body = []
            for r in shown:
                low, high = _interval(r)
                body.append([str(r["group"]), fmt_int(r["documents"]), fmt_int(r["toxic_documents"]),
                             fmt_percent(r["percent"]), fmt_percent(low), fmt_percent(high),
                             fmt_number(_as_float(r.get("mean")))])
            self.add(TableBlock([scope, "documents", "toxic_documents", "percent", "ci_low", "ci_high", "mean"], body))

    def collection(self) -> None:
        summary = self.summary
        self.add(Heading(2, SECTION_TITLES["collection"]))
        self.prompts("collection")
        inputs = summary.get("inputs") or []
        if inputs:
            self.add(Paragraph(f"The audit read {fmt_int(summary.get('input_files', 0))} file(s) from these inputs:"))
            self.add(Bullets([code(item) for item in sorted(inputs)]))

    def preprocessing(self, command: str) -> None:
        summary = self.summary
        self.add(Heading(2, SECTION_TITLES["preprocessing"]))
        self.prompts("preprocessing")
        self.add(Heading(3, "The audit run (labels added to each document)"))
        self.add(Paragraph("The audit does not change the corpus. It labelled every analysed document (columns of "
                           f"{code('documents/*.parquet')}) with the stages below, using these models and lexicons "
                           f"(from {code('summary.json')}):"))
        if self.run.stages:
            body = []
            for stage, settings in self.run.stages.items():
                for key, value in (settings or {}).items():
                    body.append([code(stage), key, fmt_setting(value)])
            self.add(TableBlock(["stage", "setting", "value"], body))
        else:
            self.add(Paragraph("No analysis stage ran."))
        # How the run was executed (runner, workers, command line, output path) does not change
        # a number here, and the datasheet is identical whatever the runner: those stay in summary.json.
        reading = {key: value for key, value in (summary.get("settings") or {}).items()
                   if key not in EXECUTION_SETTINGS}
        if reading:
            self.add(Paragraph("Reading settings:"))
            self.add(TableBlock(["setting", "value"], [[key, fmt_setting(value)] for key, value in reading.items()]))
        if command:
            self.add(Paragraph(f"The command line, runner, worker count and timings of the run are in "
                               f"{code('summary.json')} ({code('command')}, {code('settings')}, {code('timings')})."))
        versions = summary.get("package_versions") or {}
        if versions:
            self.add(Paragraph("Package versions:"))
            self.add(TableBlock(["package", "version"], [[name, str(v)] for name, v in versions.items()]))

    def uses(self) -> None:
        self.add(Heading(2, SECTION_TITLES["uses"]))
        self.prompts("uses")
        facts = []
        languages = {str(r["language"]): r for r in self.run.table("languages") or []}
        if languages:
            top = next(iter(languages.values()))
            facts.append(f"The most frequent language is {code(top['language'])} with "
                         f"{fmt_percent(top['percent'])}% of documents; {len(languages):,} labels in all.")
        pronouns = {str(r["group"]): r for r in self.run.table("pronouns") or []}
        if "she" in pronouns and "he" in pronouns:
            facts.append(f"Of the gendered documents, {fmt_percent(pronouns['she']['percent'])}% use a she pronoun "
                         f"and {fmt_percent(pronouns['he']['percent'])}% a he pronoun.")
        overall = toxicity_overall(self.run)
        if overall is not None:
            low, high = _interval(overall)
            facts.append(f"An estimated {fmt_percent(overall['percent'])}% of documents (95% CI "
                         f"{fmt_percent(low)}–{fmt_percent(high)}%) score ≥ 0.5 for toxicity.")
        if facts:
            self.add(Paragraph("Measured facts to weigh when choosing uses (see section 2):"))
            self.add(Bullets(facts))


def _percent(count: int, denominator: int) -> float:
    return round(100.0 * count / denominator, 4) if denominator else 0.0


def _as_float(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _interval(row: dict[str, Any]) -> tuple[float | None, float | None]:
    """The row's Wilson 95% interval: from the table, or computed from its counts."""
    low, high = row.get("percent_ci_low"), row.get("percent_ci_high")
    if low is not None and high is not None:
        return float(low), float(high)
    interval = wilson_percent_interval(int(row.get("toxic_documents") or 0), int(row.get("documents") or 0))
    return interval if interval is not None else (None, None)


# ----------------------------------------------------------------------------- rendering


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_answer(answer: str) -> str:
    return answer.strip()


def render_markdown(blocks: list[Block]) -> str:
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, TableBlock):
            lines = [f"| {' | '.join(_md_cell(h) for h in block.header)} |",
                     f"|{'|'.join('---' for _ in block.header)}|"]
            lines += [f"| {' | '.join(_md_cell(c) for c in row)} |" for row in block.rows]
            parts.append("\n".join(lines))
        elif isinstance(block, Code):
            parts.append(f"```\n{block.text}\n```")
        elif isinstance(block, Image):
            parts.append(f"![{block.alt}]({block.path})")
        elif isinstance(block, Prompt):
            if block.answer is None:
                parts.append(f"> **[Authors: {block.question}]** ({code(block.key)})")
            else:
                parts.append(f"**{block.question}**\n\n{_md_answer(block.answer)}")
    return "\n\n".join(parts) + "\n"


_INLINE = re.compile(r"`([^`]*)`|\*\*(.+?)\*\*")


def _inline_html(text: str) -> str:
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[position:match.start()]))
        if match.group(1) is not None:
            out.append(f"<code>{html.escape(match.group(1))}</code>")
        else:
            out.append(f"<strong>{_inline_html(match.group(2))}</strong>")
        position = match.end()
    out.append(html.escape(text[position:]))
    return "".join(out)


def _answer_html(answer: str) -> str:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", answer.strip()) if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.92rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f2f2f2; }
blockquote.prompt { border-left: 4px solid #d9822b; background: #fff6ec; margin: 0.6rem 0; padding: 0.4rem 0.8rem; }
div.answer { border-left: 4px solid #4c72b0; margin: 0.6rem 0; padding: 0.1rem 0.8rem; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; white-space: pre-wrap; }
img { max-width: 100%; }
"""
_NUMBER = re.compile(r"^[-+]?[0-9][0-9,]*(\.[0-9]+)?$")


def render_html(blocks: list[Block]) -> str:
    title = next((b.text for b in blocks if isinstance(b, Heading)), "Datasheet")
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{html.escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>"]
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{_inline_html(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{_inline_html(block.text)}</p>")
        elif isinstance(block, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_inline_html(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, TableBlock):
            head = "".join(f"<th>{_inline_html(h)}</th>" for h in block.header)
            rows = []
            for row in block.rows:
                cells = "".join(
                    f'<td class="number">{html.escape(c)}</td>' if _NUMBER.match(c) else f"<td>{_inline_html(c)}</td>"
                    for c in row)
                rows.append(f"<tr>{cells}</tr>")
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        elif isinstance(block, Code):
            parts.append(f"<pre><code>{html.escape(block.text)}</code></pre>")
        elif isinstance(block, Image):
            parts.append(f'<p><img src="{html.escape(block.path)}" alt="{html.escape(block.alt)}"></p>')
        elif isinstance(block, Prompt):
            if block.answer is None:
                parts.append(f'<blockquote class="prompt"><strong>[Authors: {html.escape(block.question)}]'
                             f"</strong> (<code>{html.escape(block.key)}</code>)</blockquote>")
            else:
                parts.append(f'<div class="answer"><p><strong>{html.escape(block.question)}</strong></p>'
                             f"{_answer_html(block.answer)}</div>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def build_datasheet(run: RunData, answers: dict[tuple[str, str], str] | None = None) -> list[Block]:
    return DatasheetBuilder(run, answers).build()
