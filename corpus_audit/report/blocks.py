"""The blocks a datasheet is built from (rendered to Markdown and HTML by ``datasheet``).

They live apart from the builder so each report section can add blocks without importing
the module that iterates the sections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

__all__ = ["Block", "Bullets", "Code", "Heading", "Image", "Paragraph", "Prompt", "TableBlock", "code"]


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


def code(text: Any) -> str:
    """Inline code markup for a paragraph, table cell or bullet."""
    return "`" + str(text).replace("`", "'") + "`"
