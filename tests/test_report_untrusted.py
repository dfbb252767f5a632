"""Reports treat every file they read as untrusted, and the run directory owns every file the tool
writes (issue 28, item 6).

* Every file ``report`` / ``datasheet`` (``--format hf-card`` included) writes into a run directory is
  recorded in its manifest with its digest, so ``run --overwrite`` replaces it (and refuses it once edited).
* A table cell of any value (null, NaN, wrong type, huge) never crashes a report: the command exits 0
  (the section then says "not computed: table X unreadable (...)") or 2 with one error line.
* Text from the inputs (folder names, group values, metadata answers, language codes, descriptor names)
  is escaped for the format it lands in (`corpus_audit.escape`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import SENTENCES, main, run_audit, write_jsonl
from corpus_audit.escape import markdown_cell, markdown_inline, plain_text, unescape_markdown
from report_synthetic import make_run

FAST = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


def _errors_or_nothing(capsys) -> list[str]:
    """stderr's lines, asserting no traceback and at most one error line."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert not any("Traceback" in line for line in lines), lines
    assert sum(line.startswith("corpus-audit: error:") for line in lines) <= 1, lines
    return lines


def _manifest(run: Path) -> dict:
    return json.loads((run / "corpus-audit-run.json").read_text())


# ----------------------------------------------------------------------------- the run owns what it writes


@pytest.fixture(scope="module")
def shard(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("input") / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [{"id": str(i), "text": SENTENCES["en"]} for i in range(3)])
    return folder


def _fresh_run(shard: Path, out: Path) -> Path:
    assert run_audit(shard, "--output", out, "--stages", "langid") == 0
    return out


def test_run_overwrite_replaces_svgs_of_report(shard: Path, tmp_path: Path, capsys) -> None:
    run = _fresh_run(shard, tmp_path / "run")
    assert main(["report", str(run), "--svg"]) == 0
    assert (run / "plots" / "languages.svg").exists()
    assert "plots/languages.svg" in _manifest(run)["files"]
    assert run_audit(shard, "--output", run, "--stages", "langid", "--overwrite") == 0, capsys.readouterr().err
    assert not (run / "plots" / "languages.svg").exists() and (run / "plots" / "languages.png").exists()


def test_report_without_svg_drops_the_svgs_from_the_manifest(shard: Path, tmp_path: Path) -> None:
    run = _fresh_run(shard, tmp_path / "run")
    assert main(["report", str(run), "--svg"]) == 0
    assert main(["report", str(run)]) == 0
    assert not (run / "plots" / "languages.svg").exists()
    manifest = _manifest(run)
    assert "plots/languages.svg" not in manifest["files"] and "plots/languages.svg" not in manifest.get("digests", {})
    assert {"plots/languages.png", "datasheet.md", "datasheet.html"} <= set(manifest["digests"])


@pytest.mark.parametrize("card", ["README.md", "CARD.md", "cards/hub.md"])
def test_run_overwrite_replaces_a_card_written_into_the_run(shard: Path, tmp_path: Path, capsys, card: str) -> None:
    run = _fresh_run(shard, tmp_path / "run")
    (run / card).parent.mkdir(parents=True, exist_ok=True)
    assert main(["datasheet", str(run), "--format", "hf-card", "-o", str(run / card)]) == 0
    assert card in _manifest(run)["files"]
    assert run_audit(shard, "--output", run, "--stages", "langid", "--overwrite") == 0, capsys.readouterr().err
    assert not (run / card).exists()


def test_an_edited_report_file_is_never_replaced_by_overwrite(shard: Path, tmp_path: Path, capsys) -> None:
    run = _fresh_run(shard, tmp_path / "run")
    assert main(["report", str(run), "--svg"]) == 0
    (run / "plots" / "languages.svg").write_text("<svg>mine</svg>")
    assert run_audit(shard, "--output", run, "--stages", "langid", "--overwrite") == 2
    assert "edited" in capsys.readouterr().err
    assert (run / "plots" / "languages.svg").read_text() == "<svg>mine</svg>"


def test_a_card_never_takes_the_manifest_or_lock_name(shard: Path, tmp_path: Path, capsys) -> None:
    run = _fresh_run(shard, tmp_path / "run")
    for name in ("corpus-audit-run.json", "corpus-audit.lock"):
        before = (run / name).read_bytes() if (run / name).exists() else None
        assert main(["datasheet", str(run), "--format", "hf-card", "-o", str(run / name)]) == 2
        _errors_or_nothing(capsys)
        assert ((run / name).read_bytes() if (run / name).exists() else None) == before


# ----------------------------------------------------------------------------- any cell value, no traceback

import re  # noqa: E402  (kept beside the helpers that use it)

CELL_VALUES = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                        st.integers(min_value=-2**63, max_value=2**63 - 1), st.text(max_size=12),
                        st.sampled_from(["", "<!--", "1e999", "nan"]))


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("base") / "run", seed=5, documents=300)


def _columns(run: Path) -> list[tuple[str, str]]:
    return [(path.stem, column) for path in sorted((run / "tables").glob("*.parquet"))
            for column in pq.read_schema(path).names]


def _tampered(base: Path, target: Path, table: str, column: str, row: int, value) -> Path:
    """A copy of ``base`` whose ``table`` holds ``value`` in ``column`` at ``row`` (the column turned
    to text when the value's type does not fit it)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base, target)
    path = target / "tables" / f"{table}.parquet"
    rows = pq.read_table(path).to_pylist()
    rows[row % len(rows)][column] = value
    try:
        data = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        data = pa.Table.from_pylist([{**r, column: None if r[column] is None else str(r[column])} for r in rows])
    pq.write_table(data, path)
    return target


def _any_cell(base_run: Path):
    return st.tuples(st.sampled_from(_columns(base_run)), st.integers(0, 50), CELL_VALUES)


def test_any_table_cell_gives_a_report_or_one_error_line(base_run: Path, tmp_path: Path, capsys) -> None:
    @FAST
    @given(_any_cell(base_run))
    def check(case) -> None:
        (table, column), row, value = case
        run = _tampered(base_run, tmp_path / "run", table, column, row, value)
        for command in (["datasheet", str(run)], ["datasheet", str(run), "--format", "hf-card"],
                        ["compare", str(run), str(base_run), "-o", str(tmp_path / "cmp.md"), "--overwrite"]):
            code = main(command)
            lines = _errors_or_nothing(capsys)
            assert code in (0, 2) and (code == 0 or any(line.startswith("corpus-audit: error:") for line in lines))

    check()


def test_any_table_cell_with_plots(base_run: Path, tmp_path: Path, capsys) -> None:
    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_any_cell(base_run))
    def check(case) -> None:
        (table, column), row, value = case
        run = _tampered(base_run, tmp_path / "run", table, column, row, value)
        code = main(["report", str(run)])
        _errors_or_nothing(capsys)
        assert code in (0, 2)

    check()


@pytest.mark.parametrize("command", [["report"], ["datasheet", "--format", "hf-card"]])
def test_a_null_documents_cell_is_not_computed_not_a_traceback(base_run: Path, tmp_path: Path, capsys,
                                                               command: list[str]) -> None:
    run = _tampered(base_run, tmp_path / "run", "languages", "documents", 0, None)
    assert main([command[0], str(run), *command[1:]]) == 0
    _errors_or_nothing(capsys)
    text = (run / ("README.md" if "hf-card" in command else "datasheet.md")).read_text()
    assert "not computed" in text.lower() and "table languages unreadable (TypeError" in text
    if command == ["report"]:
        assert not (run / "plots" / "languages.png").exists()


# ----------------------------------------------------------------------------- text from the inputs, escaped

from html.parser import HTMLParser  # noqa: E402

import yaml  # noqa: E402

from corpus_audit.rundir.tables import table_to_markdown  # noqa: E402

HOSTILE_PARTS = ["<!--", "-->", "|", "\\", "\\|", "\n", "\r\n", "---", "{{ x }}", "{% raw %}", "</script>", "<b>",
                 "`", "```", "[a](http://x)", "*", "**", "_", "#", "&amp;", "&#60;", "~~", "> ", "<", ">", "'", '"']
HOSTILE = st.lists(st.one_of(st.sampled_from(HOSTILE_PARTS), st.text(max_size=6)), min_size=1, max_size=6).map("".join)
ONE_LINE = HOSTILE.map(lambda text: " ".join(plain_text(text).split()) or "x").filter(
    lambda text: len(text) <= 200 and text.isprintable())
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p", "ul", "li", "table",
                "thead", "tbody", "tr", "th", "td", "code", "strong", "img", "blockquote", "div", "br"}


def _cells(line: str) -> int:
    """Cells of one Markdown table row: pipes not escaped by a backslash, less the two borders."""
    count, escaped = 0, False
    for char in line:
        if char == "|" and not escaped:
            count += 1
        escaped = char == "\\" and not escaped
    return count - 1


def assert_tables_keep_their_cells(markdown: str) -> None:
    """Every Markdown table: each row has the header's number of cells."""
    header = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        if header is None:
            header = _cells(line)
        assert _cells(line) == header, line


_MARKDOWN_TOKEN = re.compile(r"\\.|`[^`\n]*`|<br>|<(?=[A-Za-z/!?])", re.DOTALL)


def assert_no_raw_html(markdown: str) -> None:
    """Outside code spans and backslash escapes, no ``<`` opens a tag or comment (the card's own marker
    and the ``<br>`` the table views write for a line break aside)."""
    for line in markdown.splitlines():
        if line.startswith("<!-- Dataset card written by corpus-audit"):
            continue
        raw = [m.group(0) for m in _MARKDOWN_TOKEN.finditer(line) if m.group(0) == "<"]
        assert not raw, line


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.comments: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.add(tag)

    def handle_comment(self, data) -> None:
        self.comments.append(data)


@FAST
@given(st.lists(HOSTILE, min_size=1, max_size=4))
def test_group_values_keep_markdown_table_rows(values: list[str]) -> None:
    table = pa.table({"source": values, "documents": list(range(len(values)))})
    markdown = table_to_markdown(table, "by source", []).decode()
    assert_tables_keep_their_cells(markdown)
    assert_no_raw_html(markdown)
    assert len([line for line in markdown.splitlines() if line.startswith("|")]) == 2 + len(values)


@FAST
@given(HOSTILE)
def test_inline_escape_shows_the_value_and_keeps_the_cell(value: str) -> None:
    escaped = markdown_inline(value)
    assert "\n" not in escaped and "\r" not in escaped
    assert unescape_markdown(escaped) == plain_text(value)  # shown as written, on one line
    assert _cells(f"| {markdown_cell(escaped)} |") == 1
    assert_no_raw_html(escaped)


@pytest.fixture(scope="module")
def text_run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("text") / "run", seed=7, documents=200)


def _hostile_run(base: Path, target: Path, folder: str, value: str) -> Path:
    """A copy of ``base`` whose input folder is named ``folder`` and whose descriptor names, toxicity
    groups and language codes hold ``value``."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base, target)
    summary = json.loads((target / "summary.json").read_text())
    summary["inputs"] = [f"data/{folder}"]
    (target / "summary.json").write_text(json.dumps(summary))
    for table, column in (("descriptors", "descriptor"), ("toxicity_summary", "group"), ("languages", "language")):
        path = target / "tables" / f"{table}.parquet"
        rows = pq.read_table(path).to_pylist()
        for i, row in enumerate(rows[:3]):
            row[column] = f"{value}{i}"
        pq.write_table(pa.Table.from_pylist(rows), path)
    return target


def test_text_from_inputs_is_escaped_in_every_report(text_run: Path, tmp_path: Path, capsys) -> None:
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(folder=ONE_LINE, value=ONE_LINE, answer=HOSTILE.map(lambda text: "A " + text), pretty=ONE_LINE)
    def check(folder: str, value: str, answer: str, pretty: str) -> None:
        assume("<!--" not in pretty and "-->" not in pretty)  # refused by the metadata's rules (one line)
        run = _hostile_run(text_run, tmp_path / "run", folder.replace("/", "_"), value)
        meta = tmp_path / "meta.yaml"
        meta.write_text(yaml.safe_dump({"motivation": {"purpose": answer}, "hub": {"pretty_name": pretty}}))
        assert main(["datasheet", str(run), "--metadata", str(meta)]) == 0, capsys.readouterr().err
        assert main(["datasheet", str(run), "--metadata", str(meta), "--format", "hf-card"]) == 0
        assert main(["compare", str(run), str(text_run), "-o", str(tmp_path / "cmp.md"), "--overwrite"]) == 0
        _errors_or_nothing(capsys)
        front, body = re.fullmatch(r"---\n(.*?\n)---\n(.*)", (run / "README.md").read_text(), re.DOTALL).groups()
        assert yaml.safe_load(front)["pretty_name"] == pretty
        for markdown in ((run / "datasheet.md").read_text(), body, (tmp_path / "cmp.md").read_text()):
            assert_tables_keep_their_cells(markdown)
            assert_no_raw_html(markdown)
        parser = _Tags()
        parser.feed((run / "datasheet.html").read_text())
        assert parser.tags <= ALLOWED_TAGS and not parser.comments

    check()


def test_a_real_audit_with_hostile_group_values_and_folder_name(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in <!-- |`x`| {{ x }} <script> _#"  # no "/", nor glob characters (* ? [)
    folder.mkdir()
    values = [part for part in HOSTILE_PARTS if part.strip()] + ["a\nb", "<!-- hidden", "=cmd()"]
    write_jsonl(folder / "a.jsonl", [{"id": str(i), "text": SENTENCES["en"], "src": value}
                                     for i, value in enumerate(values)])
    run = tmp_path / "run"
    assert run_audit(folder, "--output", run, "--stages", "langid", "--group-by", "src") == 0
    assert main(["datasheet", str(run), "--format", "hf-card"]) == 0
    _errors_or_nothing(capsys)
    views = sorted((run / "tables").glob("*.md"))
    assert any("by_src" in path.name for path in views)
    for path in [*views, run / "datasheet.md"]:
        assert_tables_keep_their_cells(path.read_text())
        assert_no_raw_html(path.read_text())
    front, body = re.fullmatch(r"---\n(.*?\n)---\n(.*)", (run / "README.md").read_text(), re.DOTALL).groups()
    assert yaml.safe_load(front)["pretty_name"] == folder.name
    assert_tables_keep_their_cells(body)
    assert_no_raw_html(body)
    parser = _Tags()
    parser.feed((run / "datasheet.html").read_text())
    assert parser.tags <= ALLOWED_TAGS and not parser.comments
