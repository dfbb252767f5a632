"""The blocks a datasheet is built from; the Jinja2 templates in ``report/templates/`` render them.

They live apart from the builder so each report section can add blocks without importing
the module that iterates the sections. Each block has a ``kind`` (its class name in lower
case) that the templates dispatch on. Text fields may hold the inline markup ``**bold**`` and
``code`` (see `code`), and backslash escapes of text from the inputs (`corpus_audit.escape.markdown_inline`),
nothing else: the HTML template converts exactly those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from corpus_audit.escape import code_span

__all__ = ["Block", "Bullets", "Heading", "Image", "Paragraph", "Prompt", "SettingList", "TableBlock",
           "code"]


class _Kind:
    @property
    def kind(self) -> str:
        """The template's name for this block type (``heading``, ``table``, ...)."""
        return type(self).__name__.lower().removesuffix("block")


@dataclass
class Heading(_Kind):
    level: int
    text: str


@dataclass
class Paragraph(_Kind):
    text: str  # inline markup: **bold** and `code` only


@dataclass
class Bullets(_Kind):
    items: list[str]


@dataclass
class TableBlock(_Kind):
    header: list[str]
    rows: list[list[str]]


@dataclass
class SettingList(_Kind):
    """Named groups of ``(setting, value)`` pairs: a short nested list (the datasheet's settings)."""

    groups: list[tuple[str, list[tuple[str, str]]]]


@dataclass
class Image(_Kind):
    path: str
    alt: str


@dataclass
class Prompt(_Kind):
    """A question for the corpus' authors, with their answer when the metadata gave one."""

    key: str
    question: str
    answer: str | None


Block = Union[Heading, Paragraph, Bullets, TableBlock, SettingList, Image, Prompt]


def code(text: Any) -> str:
    """Inline code markup for a paragraph, table cell or bullet (backticks as ``'``, one line)."""
    return code_span(text)
