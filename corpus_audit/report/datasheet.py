"""A datasheet for the audited corpus (Gebru et al., "Datasheets for Datasets", CACM 2021).

Sections: Motivation, Composition, Collection process, Preprocessing/cleaning/labeling, Uses,
Distribution, Maintenance. Everything the run measured is filled in from ``summary.json`` and
the tables; questions only the corpus' authors can answer are prompts
(``> **[Authors: ...]**``) unless a metadata YAML answers them.

The datasheet is built as a list of blocks (``report/blocks.py``), with named parts (the size
table, each analysis, the Llama 2 comparison, the settings), and the measured facts, the sizes
and the authors' answers beside them: one context (`build_context`) that every template of
``report/templates/`` renders (``datasheet.md.j2``, ``datasheet.html.j2``, and the Hub card
``hf_card.md.j2``, see `corpus_audit.report.hf_card`). It holds nothing that changes between two
reports of the same run: no time of generation, no timings. Each analysis's subsection is
written by its registered report section (``report/sections/``); this module names no stage.
"""

from __future__ import annotations

import contextlib
import functools
import html
import posixpath
import re
import shlex
from typing import Any, Iterator

from markupsafe import Markup

from corpus_audit.escape import code_fence, markdown_cell, markdown_guard, markdown_inline, plain_text

from corpus_audit.report.blocks import (Block, Bullets, Heading, Image, Paragraph, Prompt, SettingList, TableBlock,
                                        code)
from corpus_audit.report.formatting import (MISSING, SMALL_SAMPLE_MARK, SMALL_SAMPLE_NOTE, fmt_int, fmt_percent,
                                            language_label)
from corpus_audit.report.metadata import PROMPTS
from corpus_audit.report.registry import ReportSection, default_registry
from corpus_audit.report.run import RunData
from corpus_audit.stats import percent

__all__ = ["DatasheetBuilder", "MAX_SETTING_CHARACTERS", "SECTION_TITLES", "build_context", "fmt_rate",
           "fmt_setting", "markdown_text", "partial_limit", "publishable", "render", "sample_rate", "scope_notes", "setting_rows",
           "template_environment"]

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
# How a run was executed: never a number of the datasheet, which is identical whatever the runner
# and worker count (these stay in summary.json).
EXECUTION_SETTINGS = frozenset({"runner", "runner_rule", "workers", "workers_rule", "checkpoint_dir", "dry_run", "cpu_threads_per_worker",
                                "cpu_threads_rule"})


#: A settings cell longer than this is summarised (its full value stays in summary.json).
MAX_SETTING_CHARACTERS = 160
_LOCAL_PATH = re.compile(r"^(?:/|~|file://|[A-Za-z]:[\\/])")


def publishable(value: Any) -> Any:
    """``value`` with every local absolute path replaced by its last component.

    Published artefacts name files (``lid.176.ftz``, ``descriptors.json``) with their version and
    sha256, never a machine's paths (the venv, a home directory); ``summary.json`` keeps the
    paths for the operator. Remote URLs (``gs://...``) and relative paths are kept.
    """
    if isinstance(value, str):
        if _LOCAL_PATH.match(value):
            stripped = value[len("file://"):] if value.startswith("file://") else value
            return posixpath.basename(stripped.replace("\\", "/").rstrip("/")) or stripped
        return value
    if isinstance(value, dict):
        return {key: publishable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [publishable(item) for item in value]
    return value


def fmt_setting(value: Any) -> str:
    """A setting's value for a table cell, short and without local paths: lists joined,
    flat mappings as ``key=value``; anything longer than `MAX_SETTING_CHARACTERS` summarised."""
    value = publishable(value)
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        if not value:
            return "(none)"
        if all(isinstance(item, dict) for item in value):
            text = "; ".join(", ".join(f"{k}={fmt_setting(v)}" for k, v in item.items()) for item in value)
        else:
            text = ", ".join(fmt_setting(item) for item in value)
        if len(text) > MAX_SETTING_CHARACTERS:
            return f"{len(value):,} entries (see {code('summary.json')})"
        return text
    if isinstance(value, dict):
        if not value:
            return "(none)"
        text = ", ".join(f"{key}={fmt_setting(item)}" for key, item in value.items())
        if len(text) > MAX_SETTING_CHARACTERS:
            return f"{len(value):,} entries (see {code('summary.json')})"
        return text
    return str(value)


def setting_rows(settings: dict[str, Any]) -> list[tuple[str, Any]]:
    """``(name, value)`` pairs of one stage's settings, mappings opened one level (``lexicons.version``)."""
    rows: list[tuple[str, Any]] = []
    for key, value in settings.items():
        if isinstance(value, dict) and value and fmt_setting(value).endswith(f"(see {code('summary.json')})"):
            rows += [(f"{key}.{inner}", item) for inner, item in value.items()]
        else:
            rows.append((key, value))
    return rows


# ----------------------------------------------------------------------------- scope of the run


def snake_case_field(name: str) -> str:
    """The column / table-name part of a record field (as the stages name their tables)."""
    from corpus_audit.transforms.base import snake_case

    return snake_case(name)


def partial_limit(run: RunData) -> int | None:
    """``N`` when ``--limit N`` stopped the run early (it read N records, not the whole corpus), else None."""
    limit = (run.summary.get("settings") or {}).get("limit")
    if isinstance(limit, bool) or not isinstance(limit, int):
        return None
    return limit if int(run.summary.get("documents_read") or 0) >= limit else None


def sample_rate(run: RunData) -> float | None:
    """The run's ``--sample-rate`` (the share of the documents read that were analysed), else None."""
    rate = (run.summary.get("settings") or {}).get("sample_rate")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate >= 1:
        return None
    return float(rate)


def fmt_rate(rate: float) -> str:
    """A sample rate as a percent of documents (``0.1`` → ``10%``)."""
    return f"{100 * rate:g}%"


def scope_notes(run: RunData) -> list[str]:
    """What the report's figures describe when the run did not analyse the whole corpus: one
    sentence for ``--limit`` (a partial audit), one for ``--sample-rate`` (a sample)."""
    notes = []
    limit = partial_limit(run)
    if limit is not None:
        notes.append(f"Partial audit: only the first {limit:,} records were read (--limit {limit}); figures "
                     "describe those records, not the corpus.")
    rate = sample_rate(run)
    if rate is not None:
        notes.append(f"Sampled audit: a {fmt_rate(rate)} sample of the documents read was analysed "
                     f"(--sample-rate {rate:g}; {run.documents_analysed:,} of "
                     f"{int(run.summary.get('documents_read') or 0):,}); every percentage is estimated from "
                     f"that {fmt_rate(rate)} sample for the whole corpus, with a 95% interval (the "
                     "`*_ci_low` / `*_ci_high` columns of tables/), and counts are the sample's.")
    return notes


# ----------------------------------------------------------------------------- content


class DatasheetBuilder:
    """Collects the blocks of one datasheet for ``run`` with the authors' ``answers``.

    The Gebru et al. sections are written here; each analysis's part of "Composition" (and its
    measured facts under "Uses") comes from its registered report section.
    """

    def __init__(self, run: RunData, answers: dict[tuple[str, str], str] | None = None) -> None:
        self.run = run
        self.summary = run.summary
        self.answers = answers or {}
        self.sections = default_registry()
        self.plots = set(self.sections.available_plots(run))
        self.blocks: list[Block] = []
        #: Named slices of `blocks` (``size``, each analysis's name, ``llama2``, ``settings``, ...).
        self.parts: dict[str, list[Block]] = {}
        self.facts: list[str] = []

    # helpers
    def add(self, *blocks: Block) -> None:
        """Append blocks; a table with a small-sample mark gets the footnote right below it."""
        for block in blocks:
            self.blocks.append(block)
            cells = ([cell for row in block.rows for cell in row] if isinstance(block, TableBlock)
                     else block.items if isinstance(block, Bullets) else [])
            if any(SMALL_SAMPLE_MARK in cell for cell in cells):
                self.blocks.append(Paragraph(SMALL_SAMPLE_NOTE))

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Record the blocks added inside the ``with`` as the part ``name`` (the Hub card reuses them)."""
        start = len(self.blocks)
        yield
        self.parts[name] = self.blocks[start:]

    def prompt(self, section: str, key: str) -> None:
        self.add(Prompt(f"{section}.{key}", PROMPTS[section][key], self.answers.get((section, key))))

    def prompts(self, section: str) -> None:
        for key in PROMPTS[section]:
            self.prompt(section, key)

    def plot(self, name: str, alt: str) -> None:
        """The plot ``plots/<name>.png``, when the run gets it."""
        if name in self.plots:
            self.add(Image(f"plots/{name}.png", alt))

    def stage_missing(self, section: ReportSection) -> bool:
        """Add a 'Not run' / 'Not computed' line when the section has no numbers to show.

        A stage that ran but recorded another status than ``computed`` (the toxicity model could
        not be loaded, ...) or produced nothing is "Not computed", with the reason from
        ``summary.json``, even when empty tables exist.
        """
        missing = section.not_computed(self.run)
        if missing is None:
            return False
        stage = section.stage
        if not self.run.stage_ran(stage):
            stages = ",".join((self.summary.get("settings") or {}).get("stages") or self.run.stages) or "none"
            self.add(Paragraph(f"**Not run:** {section.description} was not part of this run (stage {code(stage)}; "
                               f"the run's stages: {code(stages)})."))
            return True
        status, reason = missing
        self.add(Paragraph(f"**Not computed** ({code(status)}): {markdown_inline(reason.rstrip('.'))}. No figure of this section "
                           "is reported."))
        return True

    def analysis(self, section: ReportSection) -> None:
        """One analysis's subsection of "Composition": its heading, then its blocks or why there are none."""
        self.add(Heading(3, section.heading(self.run)))
        with self.part(section.name):
            if self.stage_missing(section):
                return
            section.datasheet(self)

    # sections
    def build(self) -> list[Block]:
        summary = self.summary
        self.add(Heading(1, f"Datasheet: {markdown_inline(self.run.corpus_name)}"))
        command = shlex.join(str(part) for part in summary.get("command") or [])
        toxicity = any(section.sampled and section.computed(self.run) for section in self.sections)
        notes = scope_notes(self.run)
        for note in notes:
            self.add(Paragraph(f"**{note}**"))
        rate = sample_rate(self.run)
        if rate is not None:
            counted = (f"they are estimated from a {fmt_rate(rate)} sample of the documents read (--sample-rate "
                       f"{rate:g}; {fmt_int(self.run.documents_analysed)} analysed of "
                       f"{fmt_int(summary.get('documents_read', 0))} read): counts are the sample's, and every "
                       "percentage comes with a 95% Wilson interval (continuity-corrected) in tables/")
            if toxicity:
                counted += (", and the toxicity figures are estimated on a further sample of it, given with Wilson "
                            "95% confidence intervals")
        else:
            counted = "they are exact counts over the analysed documents" + ((
                ", except the toxicity figures, which are estimated on a sample and given with Wilson 95% "
                "confidence intervals") if toxicity else "")
        self.add(Paragraph(
            "This datasheet follows Gebru et al., \"Datasheets for Datasets\" (Communications of the ACM, 2021). "
            f"The numbers were measured by corpus-audit {markdown_inline(summary.get('corpus_audit_version', '?'))} "
            f"(Llama 2 §4.1 analyses) in the run described in section 4; {counted}. Percentages are percent of "
            "documents (a document counts once however often a term occurs); each table and figure names its "
            "denominator."))
        self.add(Paragraph(
            "Percentages have 1 decimal, 2 under 1%; one whose denominator is under 30 documents is marked "
            f"{SMALL_SAMPLE_MARK} (a small sample)."))
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
        self.add(Heading(2, SECTION_TITLES["composition"]))
        self.prompt("composition", "instances")
        self.prompt("composition", "sampling")
        self.add(Heading(3, "Size"))
        with self.part("size"):
            self.size()
        for section in self.sections:
            self.analysis(section)
        with self.part("llama2"):
            self.llama2()
        with self.part("group_by"):
            self.group_breakdown()
        self.prompt("composition", "sensitive_data")
        self.prompt("composition", "offensive_content")

    def size(self) -> None:
        """The Size table and the skipped records."""
        summary = self.summary
        skipped = summary.get("documents_skipped") or {}
        rows = [
            ["documents read", fmt_int(summary.get("documents_read", 0))],
            ["documents analysed", fmt_int(summary.get("documents_analysed", 0))],
            ["documents skipped", fmt_int(sum(skipped.values()))],
        ]
        rate = sample_rate(self.run)
        not_sampled = int(summary.get("documents_not_sampled") or 0)
        if rate is not None or not_sampled:
            rows.append([f"documents not sampled (--sample-rate {rate:g})" if rate is not None
                         else "documents not sampled", fmt_int(not_sampled)])
        rows += [
            ["bytes read (uncompressed records)", fmt_int(summary.get("bytes_read", 0))],
        ]
        for section in self.sections:
            if section.computed(self.run):
                rows += section.size_rows(self.run)
        rows += [
            ["input files read", fmt_int(summary.get("input_files", 0))],
            ["files not read (unsupported suffix or hidden directory)", fmt_int(summary.get("ignored_files_count", 0))],
            ["blank lines ignored", fmt_int(summary.get("blank_lines_ignored", 0))],
            ["lone surrogates replaced", fmt_int(summary.get("lone_surrogates_replaced", 0))],
        ]
        self.add(TableBlock(["quantity", "value"], rows))
        balanced = summary.get("accounting_balanced")
        if balanced is False:
            self.add(Paragraph("**Warning:** documents read ≠ documents analysed + skipped"
                               f"{' + not sampled' if rate is not None or not_sampled else ''} in this run."))
        self.add(Heading(3, "Skipped input"))
        if skipped:
            read = int(summary.get("documents_read") or 0)
            self.add(Paragraph("Records the audit could not analyse, by reason (one record per skip in "
                               f"{code('skipped/*.jsonl')}, with an excerpt):"))
            self.add(TableBlock(["reason", "documents", "percent of read"],
                                [[code(reason), fmt_int(count), fmt_percent(percent(count, read), denominator=read)]
                                 for reason, count in skipped.items()]))
        else:
            self.add(Paragraph("No record was skipped."))

    def llama2(self) -> None:
        """This corpus beside the figures Llama 2 published for its pretraining corpus."""
        from corpus_audit.report.llama2 import llama2_cells, llama2_rows

        computed = {table for section in self.sections if section.computed(self.run) for table in section.tables}
        rows = llama2_rows(self.run, computed)
        self.add(Heading(3, "Beside Llama 2's pretraining corpus"))
        if not rows:
            self.add(Paragraph("No figure of this run corresponds to one Llama 2 published."))
            return
        self.add(Paragraph("The figures Llama 2 (Touvron et al. 2023, arXiv 2307.09288, §4.1) published for its "
                           "pretraining corpus, beside this corpus' (percent; Llama 2's as published, this corpus' and the "
                           "difference = this corpus − Llama 2 with as many decimals, so the columns add up). "
                           "Each row names its denominator and the paper's source. Llama 2's corpus is far larger "
                           "and mostly English: read the differences as orientation, not as a test."))
        def key(row: dict[str, Any]) -> str:
            return markdown_inline(language_label(row["key"]) if row["metric"] == "language" else row["key"])

        self.add(TableBlock(["figure", "key", "this corpus", "Llama 2", "difference", "percent of"],
                            [[row["metric"], key(row), *llama2_cells(row), row["of"]] for row in rows]))
        sources = list(dict.fromkeys(f"{row['metric']}: {row['source']}" for row in rows))
        self.add(Paragraph("Sources of the Llama 2 figures (shipped in the package as data, "
                           f"{code('corpus_audit/report/data/llama2.json')}):"))
        self.add(Bullets(sources))

    def group_breakdown(self) -> None:
        """``--group-by FIELD``: one row per value: its documents, top language, gendered pronouns
        and documents mentioning a descriptor axis (all from the ``*_by_<field>`` tables)."""
        field = (self.summary.get("settings") or {}).get("group_by")
        if not field:
            return
        views = {prefix: next((rows for name, rows in self.run.tables.items()
                               if name.startswith(prefix) and name != f"{prefix}language" and rows), None)
                 for prefix in ("languages_by_", "pronouns_by_", "descriptor_axes_by_")}
        languages = views["languages_by_"]
        if not languages:
            return
        column = next(c for c in languages[0] if c not in ("language", "language_name", "documents", "percent",
                                                          "denominator", "small_sample"))
        groups: dict[Any, dict[str, Any]] = {}
        for row in languages:
            group = groups.setdefault(row[column], {"documents": row.get("denominator"), "top": row})
            if (row.get("documents") or 0) > (group["top"].get("documents") or 0):
                group["top"] = row
        for row in views["pronouns_by_"] or []:
            if row.get("group") == "gendered":
                groups.get(row.get(column) if column in row else row.get("group_value"), {})["gendered"] = row
        body = []
        for value, group in groups.items():
            top = group["top"]
            gendered = group.get("gendered")
            body.append([markdown_inline(str(value)), fmt_int(group["documents"]),
                         f"{markdown_inline(str(top.get('language')))} ({fmt_percent(top.get('percent'), 'short')})",
                         fmt_percent(gendered.get("percent"), "short", gendered.get("denominator")) if gendered
                         else MISSING])
        self.add(Heading(3, f"Breakdown by {markdown_inline(str(field))}"))
        self.add(Paragraph(f"Per value of the record field {code(field)} (--group-by): its documents, its most "
                           "frequent language (percent of its documents) and its documents with a gendered pronoun "
                           "(percent of its documents the English lists applied to). Every figure per value is in "
                           f"{code('tables/*_by_' + snake_case_field(field) + '.csv')}."))
        self.add(TableBlock([markdown_inline(str(field)), "documents", "top language", "gendered pronouns"], body))

    def collection(self) -> None:
        summary = self.summary
        self.add(Heading(2, SECTION_TITLES["collection"]))
        self.prompts("collection")
        inputs = summary.get("inputs") or []
        if inputs:
            self.add(Paragraph(f"The audit read {fmt_int(summary.get('input_files', 0))} file(s) from these inputs:"))
            self.add(Bullets([code(publishable(str(item))) for item in sorted(str(i) for i in inputs)]))

    def preprocessing(self, command: str) -> None:
        self.add(Heading(2, SECTION_TITLES["preprocessing"]))
        self.prompts("preprocessing")
        self.add(Heading(3, "The audit run (labels added to each document)"))
        self.add(Paragraph("The audit does not change the corpus. It labelled every analysed document (columns of "
                           f"{code('documents/*.parquet')}) with the stages below, using these models and lexicons "
                           f"(from {code('summary.json')}):"))
        with self.part("settings"):
            self.settings(command)

    def settings(self, command: str) -> None:
        """The stages' settings and the reading settings: a short list, execution settings left out."""
        summary = self.summary
        if self.run.stages:
            groups = []
            for stage, settings in self.run.stages.items():
                kept = {k: v for k, v in (settings or {}).items() if k not in EXECUTION_SETTINGS}
                status = kept.get("status")
                if status is not None and status not in ("computed", "ok"):
                    # a stage that produced no number: its status and why, not its (zero) settings
                    kept = {k: kept[k] for k in ("status", "reason", "model") if k in kept}
                groups.append((code(stage), [(key, fmt_setting(value)) for key, value in setting_rows(kept)]))
            self.add(SettingList(groups))
        else:
            self.add(Paragraph("No analysis stage ran."))
        # How the run was executed (runner, workers, command line, output path) does not change
        # a number here, and the datasheet is identical whatever the runner: those stay in summary.json.
        reading = {key: value for key, value in (summary.get("settings") or {}).items()
                   if key not in EXECUTION_SETTINGS}
        if reading:
            self.add(Paragraph("Reading settings:"))
            self.add(SettingList([("reading", [(key, fmt_setting(value)) for key, value in reading.items()])]))
        if command:
            self.add(Paragraph(f"The command line, runner, worker count and timings of the run are in "
                               f"{code('summary.json')} ({code('command')}, {code('settings')}, {code('timings')})."))
        versions = summary.get("package_versions") or {}
        if versions:
            self.add(Paragraph("Package versions: " + ", ".join(f"{markdown_inline(name)} {code(v)}"
                                                                for name, v in versions.items())
                               + "."))

    def uses(self) -> None:
        self.add(Heading(2, SECTION_TITLES["uses"]))
        self.prompts("uses")
        facts = [fact for section in self.sections if section.computed(self.run) for fact in section.facts(self.run)]
        self.facts = facts
        if facts:
            self.add(Paragraph("Measured facts to weigh when choosing uses (see section 2):"))
            self.add(Bullets(facts))




# ----------------------------------------------------------------------------- context and templates


def build_context(run: RunData, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one context every template renders: the datasheet's blocks and named parts, the
    measured facts, the sizes, the settings, the authors' answers (metadata) and the prompts."""
    metadata = metadata or {}
    answers = metadata.get("answers") or {}
    builder = DatasheetBuilder(run, answers)
    blocks = builder.build()
    summary = run.summary
    prompts = {f"{section}.{key}": Prompt(f"{section}.{key}", question, answers.get((section, key)))
               for section, questions in PROMPTS.items() for key, question in questions.items()}
    return {
        "title": f"Datasheet: {plain_text(run.corpus_name)}",  # plain text: the HTML <title> is autoescaped
        "corpus_name": run.corpus_name,
        "version": summary.get("corpus_audit_version", "?"),
        "blocks": blocks,
        "parts": builder.parts,
        "analyses": [{"name": s.name, "title": s.heading(run), "computed": s.computed(run), "blocks": builder.parts[s.name]}
                     for s in builder.sections],
        "facts": builder.facts,
        "sizes": {"documents_read": int(summary.get("documents_read") or 0),
                  "documents_analysed": run.documents_analysed,
                  "documents_skipped": sum((summary.get("documents_skipped") or {}).values()),
                  "bytes_read": int(summary.get("bytes_read") or 0),
                  "input_files": int(summary.get("input_files") or 0)},
        "settings": builder.parts.get("settings", []),
        "prompts": prompts,
        "hub": metadata.get("hub") or {},
        "small_sample_note": SMALL_SAMPLE_NOTE,
        "scope_notes": scope_notes(run),
        "partial": partial_limit(run),
        "sample_rate": sample_rate(run),
    }


_INLINE = re.compile(r"\\([!-/:-@\[-`{-~])|`([^`]*)`|\*\*(.+?)\*\*")
_NUMBER = re.compile(r"^[-+<>]?[0-9][0-9,]*(\.[0-9]+)?%?[†‡]?$")


def _inline_html(text: str) -> Markup:
    """The inline markups of a block's text (``code``, **bold**, a backslash escape of text from the
    inputs) as HTML, everything else escaped."""
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[position:match.start()]))
        if match.group(1) is not None:
            out.append(html.escape(match.group(1)))
        elif match.group(2) is not None:
            out.append(f"<code>{html.escape(match.group(2))}</code>")
        else:
            out.append(f"<strong>{_inline_html(match.group(3))}</strong>")
        position = match.end()
    out.append(html.escape(text[position:]))
    return Markup("".join(out))


def _md_cell(text: str) -> str:
    """A Markdown table cell: every pipe not yet escaped escaped, newlines as spaces, no raw HTML."""
    return markdown_guard(markdown_cell(text))


_FENCE = re.compile(r"^( {0,3})(`{3}|~{3})", re.MULTILINE)


def markdown_text(text: str) -> str:
    """An author's free-text answer as Markdown that cannot reach past itself: HTML comment markers
    escaped (``&lt;!--``, ``--&gt;``: shown, never hiding what follows) and a line starting with
    a code fence (```` ``` ````, ``~~~``) escaped, so an answer never opens or closes a fence; any
    other raw HTML tag is backslash-escaped (`corpus_audit.escape.markdown_guard`: shown as written).
    The rest of the answer's Markdown (emphasis, links, lists) is the authors' and kept."""
    text = str(text).replace("<!--", "&lt;!--").replace("-->", "--&gt;")
    return markdown_guard(_FENCE.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text), entities=False)


def _paragraphs(text: str) -> list[str]:
    """An answer's paragraphs (separated by blank lines)."""
    return [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


@functools.lru_cache(maxsize=1)
def template_environment() -> Any:
    """The Jinja2 environment of the shipped templates: autoescape for ``*.html.j2`` only; the
    filters ``md_cell``, ``inline`` (HTML of the inline markup) and ``paragraphs``, the test ``number``."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("corpus_audit.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(md_cell=_md_cell, inline=_inline_html, paragraphs=_paragraphs, md_text=markdown_text,
                               md_guard=markdown_guard, md_inline=markdown_inline, code_fence=code_fence)
    environment.tests["number"] = lambda cell: bool(_NUMBER.match(str(cell)))
    return environment


def render(template: str, context: dict[str, Any]) -> str:
    """Render one shipped template (``datasheet.md.j2``, ``datasheet.html.j2``, ``hf_card.md.j2``)."""
    return template_environment().get_template(template).render(**context)
