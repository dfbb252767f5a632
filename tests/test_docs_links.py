"""The README leads and the docs hold together (issue 29).

Every relative link in README.md and docs/*.md reaches a file of the repository (and its
``#anchor`` a heading there, with GitHub's slugs); the README stays short; its two set-up commands
are the ones CI runs; every ``corpus-audit`` command shown in a shell block parses with the real
command line (no invented option); examples/meta.yaml loads through the metadata loader with every
accepted key; and nothing sends a user to a file outside the repository for the definitions.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
PAGES = [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 320

_FENCE = re.compile(r"^(```|~~~)")
_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, inline code spans removed."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(re.sub(r"`+[^`]*`+", "", line))
    return lines


def _fenced_blocks(text: str, language: str) -> list[str]:
    """The bodies of the fenced blocks opened with ```language."""
    return re.findall(rf"^```{re.escape(language)}\n(.*?)^```", text, re.S | re.M)


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text stays
    text = text.strip().lower()
    kept = "".join(ch for ch in text if ch.isalnum() or ch in "-_ " or unicodedata.category(ch).startswith("M"))
    return kept.replace(" ", "-")


def heading_anchors(text: str) -> set[str]:
    """Every anchor a Markdown page offers: one per heading, duplicates numbered as GitHub does."""
    occurrences: dict[str, int] = {}  # as github-slugger: a taken slug gets -1, -2, ... until it is free
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        match = None if fenced else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            original = slug = github_slug(match.group(1))
            while slug in occurrences:
                occurrences[original] += 1
                slug = f"{original}-{occurrences[original]}"
            occurrences[slug] = 0
    return set(occurrences)


def broken_links(page: Path, root: Path) -> list[str]:
    """The relative links of ``page`` that reach no file under ``root``, or no heading there."""
    problems = []
    for line in _prose_lines(page.read_text(encoding="utf-8")):
        for target in _LINK.findall(line):
            if _SCHEME.match(target):
                continue  # an absolute URL: not checked offline
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page.resolve()
            if not resolved.exists() or root.resolve() not in (resolved, *resolved.parents):
                problems.append(f"{page.name}: {target} (no such file in the repository)")
            elif anchor and resolved.suffix == ".md" and anchor not in heading_anchors(resolved.read_text(encoding="utf-8")):
                problems.append(f"{page.name}: {target} (no heading #{anchor} in {resolved.name})")
    return problems


# ----------------------------------------------------------------------------- the checker itself


@pytest.mark.parametrize(("heading", "slug"), [
    ("Outputs (`--output DIR`)", "outputs---output-dir"),
    ("1. Official lexicons", "1-official-lexicons"),
    ("Toxicity (`toxicity`, Llama 2 Figure 13)", "toxicity-toxicity-llama-2-figure-13"),
    ("`skipped/*.jsonl`", "skippedjsonl"),
    ("The output directory is the run's own", "the-output-directory-is-the-runs-own"),
    ("Set-up", "set-up"),
    ("See [the docs](docs/x.md) now", "see-the-docs-now"),
])
def test_github_slugs(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_duplicate_headings_are_numbered_as_github_does() -> None:
    assert heading_anchors("## A\n\n## A\n\n## A-1\n\n```\n## not a heading\n```\n") == {"a", "a-1", "a-1-1"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029`#"), min_size=1, max_size=20),
                min_size=1, max_size=5))
def test_every_heading_is_reachable_and_other_anchors_are_not(tmp_path_factory, titles: list[str]) -> None:
    """The checker accepts a link to each heading's slug (duplicates numbered) and refuses any other."""
    root = tmp_path_factory.mktemp("docs")
    titles = [t for t in titles if t.strip()] or ["x"]
    (root / "page.md").write_text("".join(f"## {title}\n\ntext\n\n" for title in titles), encoding="utf-8")
    anchors = heading_anchors((root / "page.md").read_text(encoding="utf-8"))
    assert len(anchors) == len(titles)  # duplicates get -1, -2, ..., never a taken anchor
    links = "".join(f"[a](page.md#{anchor})\n" for anchor in sorted(anchors) if anchor)
    (root / "index.md").write_text(links + "[b](page.md#surely-not-a-heading-0x)\n[c](missing.md)\n", encoding="utf-8")
    assert broken_links(root / "index.md", root) == [
        "index.md: page.md#surely-not-a-heading-0x (no heading #surely-not-a-heading-0x in page.md)",
        "index.md: missing.md (no such file in the repository)"]


def test_links_in_code_and_absolute_urls_are_not_checked(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("`[x](nowhere.md)`\n\n```\n[y](nowhere.md)\n```\n[z](https://example.org/q)\n"
                                   "[up](../outside.md)\n", encoding="utf-8")
    (tmp_path.parent / "outside.md").write_text("# x\n", encoding="utf-8")
    assert broken_links(tmp_path / "a.md", tmp_path) == ["a.md: ../outside.md (no such file in the repository)"]


# ----------------------------------------------------------------------------- the repository's pages


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    assert broken_links(page, REPO_ROOT) == []


def test_docs_pages_exist_and_the_readme_links_each() -> None:
    readme = README.read_text(encoding="utf-8")
    for name in ("inputs", "analyses", "outputs", "reports", "scale", "reliability", "benchmarks"):
        assert (REPO_ROOT / "docs" / f"{name}.md").is_file()
        assert f"(docs/{name}.md)" in readme


def test_readme_is_short() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= MAX_README_LINES


def _ci_test_command() -> str:
    commands = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
                if line.strip().startswith("python3 -m venv")]
    assert len(commands) == 1, ".ci/run should run one set-up command"
    return commands[0]


def test_readme_setup_is_two_commands_the_second_being_what_ci_runs() -> None:
    readme = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- setup-commands\b[^>]*-->\s*```bash\n(.*?)```", readme, re.S)
    assert match, "README has no marked set-up block"
    commands = [line for line in match.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2
    install_and_run, test = commands
    assert test == _ci_test_command()
    assert _ci_test_command() in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install_and_run.startswith("python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 ")
    run = shlex.split(install_and_run.split("&&")[-1])
    assert run[:3] == [".venv/bin/corpus-audit", "run", "examples/sample_corpus"]
    assert "--overwrite" in run  # rerunnable: its output directory exists after the first time
    # The torch choice comes before the commands.
    assert readme.index("CPU-only machine") < match.start() and readme.index("download.pytorch.org/whl/cpu") < match.start()


def test_readme_sends_nobody_outside_the_repository_for_the_definitions() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert "SPEC.md" not in text, f"{page.name} points at a specification outside the repository"


# ----------------------------------------------------------------------------- commands and metadata


def _corpus_audit_commands(text: str) -> list[list[str]]:
    """The argument lists of every ``corpus-audit`` call in the page's shell blocks."""
    calls = []
    for block in _fenced_blocks(text, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            tokens = shlex.split(line, comments=True)
            for start, token in enumerate(tokens):
                if Path(token).name == "corpus-audit":
                    rest = tokens[start + 1:]
                    end = next((i for i, t in enumerate(rest) if t in ("&&", "||", ";", "|")), len(rest))
                    calls.append(rest[:end])
    return calls


def test_every_documented_command_parses() -> None:
    """No page shows an option the command line does not have (unknown ``run`` options must be Beam's)."""
    from corpus_audit.cli import build_parser
    from corpus_audit.cli.beam_options import unknown_beam_options

    calls = [(page.name, argv) for page in PAGES for argv in _corpus_audit_commands(page.read_text(encoding="utf-8"))]
    assert len(calls) >= 10 and {argv[0] for _, argv in calls} >= {"run", "lexicons", "datasheet", "compare", "report"}
    parser = build_parser()
    for name, argv in calls:
        try:
            args, extra = parser.parse_known_args(argv)
        except SystemExit:
            pytest.fail(f"{name}: corpus-audit {' '.join(argv)} does not parse")
        unknown = unknown_beam_options(extra) if args.command == "run" else extra
        assert unknown == [], f"{name}: corpus-audit {' '.join(argv)}: unknown {unknown}"


def test_example_metadata_loads_with_every_key() -> None:
    from corpus_audit.report.metadata import HUB_LIST_KEYS, HUB_TEXT_KEYS, PROMPTS, load_metadata

    metadata = load_metadata(str(REPO_ROOT / "examples" / "meta.yaml"))
    assert metadata["name"]
    assert set(metadata["answers"]) == {(section, key) for section, keys in PROMPTS.items() for key in keys}
    assert set(metadata["hub"]) == set(HUB_TEXT_KEYS) | set(HUB_LIST_KEYS)


# ----------------------------------------------------------------------------- the output contract


def _section_rows(page: Path, heading: str) -> list[list[str]]:
    """The cells of the Markdown table under ``## heading`` (header and rule rows left out)."""
    text = page.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    rows = [line.strip().strip("|").split(" | ") for line in text[start:end if end > 0 else None].splitlines()
            if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]


def _names(cell: str) -> list[str]:
    """The comma-separated names of a cell's first code span."""
    match = re.search(r"`([^`]+)`", cell)
    return [name.strip() for name in match.group(1).split(",")] if match else []


def _all_names(cell: str) -> list[str]:
    """The names of every code span of a cell (a span may list several, comma-separated)."""
    return [name.strip() for span in re.findall(r"`([^`]+)`", cell) for name in span.split(",")]


def _pattern(name: str) -> re.Pattern[str]:
    """A documented name as a pattern: ``<field>`` stands for any name."""
    return re.compile("".join("[a-z0-9_]+" if part.startswith("<") else re.escape(part)
                              for part in re.split(r"(<[^>]+>)", name)))


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    """The sample corpus audited as docs/outputs.md describes it (toxicity is not computed offline)."""
    from conftest import run_audit

    out = tmp_path_factory.mktemp("outputs") / "s"
    assert run_audit(REPO_ROOT / "examples" / "sample_corpus", "--output", out, "--group-by", "source") == 0
    return out


def test_documented_tables_and_columns_are_what_a_run_writes(sample_run: Path) -> None:
    import pyarrow.parquet as pq

    documented = {name.replace("<field>", "source"): [c.replace("<field>", "source") for c in _names(row[2])]
                  for row in _section_rows(REPO_ROOT / "docs" / "outputs.md", "Tables (`tables/`)")
                  for name in _names(row[0])}
    written = {path.stem: pq.read_schema(path).names for path in (sample_run / "tables").glob("*.parquet")}
    assert set(documented) == set(written)
    for table, columns in written.items():
        assert documented[table] == columns, table
        for suffix in (".csv", ".md"):
            assert (sample_run / "tables" / f"{table}{suffix}").is_file()


def test_documented_document_columns_and_summary_keys_are_what_a_run_writes(sample_run: Path) -> None:
    import json

    import pyarrow.parquet as pq

    outputs = REPO_ROOT / "docs" / "outputs.md"
    patterns = [_pattern(name) for row in _section_rows(outputs, "`documents/*.parquet`") for name in _all_names(row[0])]
    columns = pq.read_schema(next((sample_run / "documents").glob("*.parquet"))).names
    assert [c for c in columns if not any(p.fullmatch(c) for p in patterns)] == []
    assert [p.pattern for p in patterns if not any(p.fullmatch(c) for c in columns)] == []
    pronoun_groups = _names(next(row for row in _section_rows(outputs, "`documents/*.parquet`")
                                 if "pronoun" in row[0])[2])
    assert {f"doc_has_{group}_pronoun" for group in pronoun_groups} == {c for c in columns if c.startswith("doc_has_")}
    documented_keys = {name for row in _section_rows(outputs, "`summary.json`") for name in _all_names(row[0])}
    assert documented_keys == set(json.loads((sample_run / "summary.json").read_text(encoding="utf-8")))


def test_the_python_api_example_runs_as_written(tmp_path: Path, monkeypatch) -> None:
    """docs/inputs.md's Python example, run from a folder holding the sample corpus."""
    (code,) = _fenced_blocks((REPO_ROOT / "docs" / "inputs.md").read_text(encoding="utf-8"), "python")
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "sample_corpus").symlink_to(REPO_ROOT / "examples" / "sample_corpus")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "docs/inputs.md", "exec"), namespace)  # noqa: S102
    result, again = namespace["result"], namespace["again"]
    assert result.exit_code == 0 and result.accounting["documents_read"] == 200
    assert result.accounting["accounting_balanced"] is True
    assert namespace["docs"].column_names == ["id", "shard", "position", "language"]
    assert again.datasheet_path and (tmp_path / "audit-api" / "datasheet.md").is_file()
