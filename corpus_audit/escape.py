"""Text from the inputs, escaped for the format it lands in: the one place that knows how.

Folder names, ``--group-by`` values, ids, metadata answers, language codes, descriptor names from a
custom lexicon and anything else read from a run directory (``summary.json``, tables) are data, never
markup. Each output format has one function here:

* Markdown inline text and table cells: `markdown_inline` (backslash escapes, newlines as spaces) for
  a value; `markdown_cell` for a cell already holding markup (escapes each pipe not yet escaped);
  `markdown_guard` over any generated text, a second line of defence that no raw HTML reaches a
  Markdown file (a ``<`` that would open a tag, comment or autolink is escaped, as is an entity);
* Markdown code spans and fences: `code_span` and `code_fence` (a fence longer than any backtick run);
* HTML: `html_text` (markupsafe; the HTML template is autoescaped by Jinja2);
* YAML front matter: `yaml_front_matter` (``yaml.safe_dump`` of the mapping, never string-formatted);
* CSV: `csv_cell` (`corpus_audit.csv_cells.csv_safe`: the formula-injection guard).

Ordinary values come out unchanged wherever that is safe (an ``_`` inside a word, a bare ``&``, a
``<`` before a digit, as in ``<0.01``, are not markup in CommonMark), so ordinary reports stay
byte-identical. A root module: the run directory's Markdown tables use it as the reports do.
"""

from __future__ import annotations

import re
from typing import Any

from corpus_audit.csv_cells import csv_safe as csv_cell

__all__ = ["code_fence", "code_span", "csv_cell", "html_text", "markdown_cell", "markdown_guard",
           "markdown_inline", "plain_text", "unescape_markdown", "yaml_front_matter"]

# Characters CommonMark / GFM read as inline markup wherever they stand (backslash first: it escapes).
_ALWAYS = re.compile(r"([\\`*\[\]<>|~])")
# "_" opens or closes emphasis only at a word's edge: escaped unless letters or digits are on both sides.
_EDGE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# "&name;" / "&#123;" would be read as an entity (another character than the one written).
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# A pipe with an even number of backslashes (none included) before it splits a GFM table cell.
_BARE_PIPE = re.compile(r"(?<!\\)((?:\\\\)*)\|")
# Raw HTML in CommonMark starts with "<" then a letter, "/", "!" or "?" (tags, comments, declarations,
# processing instructions, autolinks).
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
_ESCAPE_OR_CODE = re.compile(r"\\[!-/:-@\[-`{-~]|`[^`\n]*`")
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def plain_text(value: Any) -> str:
    """``value`` as one line of printable text: line breaks and other control characters as spaces,
    lone surrogates (undecodable bytes of a file name) as U+FFFD, so it can be written as UTF-8."""
    text = _SURROGATE.sub("\ufffd", str(value))
    return _CONTROL.sub(" ", _LINE_BREAKS.sub(" ", text))


def markdown_inline(value: Any) -> str:
    """``value`` (text from the inputs) as Markdown that shows it as written and cannot reach past
    itself: ``\\ ` * [ ] < > | ~`` backslash-escaped, an ``_`` at a word's edge and an ``&`` that
    would start an entity too, a leading ``#`` escaped, line breaks as spaces."""
    text = plain_text(value)
    text = _ALWAYS.sub(r"\\\1", text)
    text = _EDGE_UNDERSCORE.sub(r"\\_", text)
    text = _ENTITY.sub(r"\\&", text)
    if text.startswith("#"):
        text = "\\" + text
    return text


def unescape_markdown(text: str) -> str:
    """The text a reader sees for `markdown_inline` output (the backslash escapes removed)."""
    return _BACKSLASH_ESCAPE.sub(r"\1", text)


def markdown_cell(text: Any) -> str:
    """A cell of a Markdown table (text that may hold markup already): every pipe that is not escaped
    escaped, line breaks as spaces, so the row keeps its cells."""
    return _BARE_PIPE.sub(lambda m: m.group(1) + "\\|", plain_text(text))


def markdown_guard(text: Any, entities: bool = True) -> str:
    """Generated Markdown text with no raw HTML: outside code spans and backslash escapes, a ``<``
    that would open a tag or comment (and, with ``entities``, an ``&`` that would start an entity)
    is backslash-escaped. Unchanged for text without them (the ``<`` of ``<0.01`` stays)."""
    text = _SURROGATE.sub("\ufffd", str(text))

    def guard(part: str) -> str:
        part = _TAG_OPEN.sub(r"\\<", part)
        return _ENTITY.sub(r"\\&", part) if entities else part

    out: list[str] = []
    position = 0
    for match in _ESCAPE_OR_CODE.finditer(text):
        out += [guard(text[position:match.start()]), match.group(0)]
        position = match.end()
    out.append(guard(text[position:]))
    return "".join(out)


def code_span(value: Any) -> str:
    """``value`` as an inline code span (shown verbatim): backticks become ``'``, line breaks spaces."""
    return "`" + plain_text(value).replace("`", "'") + "`"


def code_fence(text: str) -> str:
    """The backtick fence for a code block holding ``text``: longer than any run of backticks in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def html_text(value: Any) -> str:
    """``value`` escaped for HTML text or an attribute (``&``, ``<``, ``>``, quotes)."""
    from markupsafe import escape

    return str(escape(_SURROGATE.sub("\ufffd", str(value))))


def yaml_front_matter(data: dict[str, Any]) -> str:
    """``data`` as YAML front matter between ``---`` lines, dumped by ``yaml.safe_dump`` (quoted where a
    value needs it: a ``---`` or ``...`` inside a value never ends the block)."""
    import yaml

    body = yaml.safe_dump(_yaml_clean(data), sort_keys=False, allow_unicode=True, default_flow_style=False)
    return f"---\n{body}---\n"


def _yaml_clean(value: Any) -> Any:
    """``value`` with lone surrogates replaced in every string (YAML cannot hold them)."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_yaml_clean(key): _yaml_clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_yaml_clean(item) for item in value]
    return value
