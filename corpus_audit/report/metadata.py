"""The authors' answers to the datasheet questions a run cannot measure, from a YAML file.

Format (every key optional; answers are text)::

    name: My Web Corpus 2024          # shown as the corpus name
    motivation:
      purpose: Pretraining a 7B model for ...
      creators: The data team of ...
    distribution:
      license: CC-BY-4.0
    hub:                              # the Hub card's front matter (datasheet --format hf-card)
      license: cc-by-4.0              # a Hub licence identifier
      pretty_name: My Web Corpus 2024 # default: name
      tags: [web, pretraining]        # tags and task categories come only from here
      task_categories: [text-generation]
      citation: |                     # BibTeX for the card's Citation section
        @misc{...}

``name``, ``hub.pretty_name`` and every hub identifier are one line of text (a YAML string, no
line break, at most 200 characters); ``hub.citation`` holds no ```` ``` ````. The other answers are
Markdown, shown with HTML comment markers and code fences neutralised (see
`corpus_audit.report.datasheet.markdown_text`), so no answer can hide or swallow what follows it.

Only ``yaml.safe_load`` is used (no Python object tags). Unknown sections or questions are
errors that list the accepted ones, so a typo never silently leaves a prompt unanswered.
"""

from __future__ import annotations

import difflib
import os
from typing import Any

from corpus_audit.errors import ReportError
from corpus_audit.storage import read_bytes

__all__ = ["HUB_LIST_KEYS", "HUB_TEXT_KEYS", "MAX_METADATA_BYTES", "MAX_LINE_CHARACTERS", "MAX_METADATA_DEPTH", "MetadataError", "PROMPTS",
           "load_metadata", "parse_metadata"]

MAX_METADATA_BYTES = 1024 * 1024
MAX_ANSWER_CHARACTERS = 20_000
#: Nesting deeper than this is no datasheet answer file (it has 2 levels); checked on the event
#: stream before composing, so a hostile file never reaches the recursive composer.
MAX_METADATA_DEPTH = 16

#: Datasheet questions (Gebru et al. 2021) a corpus audit cannot answer: section → key → question.
PROMPTS: dict[str, dict[str, str]] = {
    "motivation": {
        "purpose": "For what purpose was the corpus created? Was there a specific task or gap in mind?",
        "creators": "Who created the corpus (team, organisation), and on behalf of which entity?",
        "funding": "Who funded the creation of the corpus?",
    },
    "composition": {
        "instances": "What do the documents represent (web pages, books, code, forum posts, ...)?",
        "sampling": "Is the corpus a sample of a larger set? If so, how was it sampled, and is it representative?",
        "sensitive_data": "Does the corpus contain personal, confidential or sensitive data (names, contact "
                          "details, health, ...)? How was this checked?",
        "offensive_content": "What is known about offensive or harmful content (beyond any toxicity figure of "
                             "this datasheet), and was any of it filtered?",
    },
    "collection": {
        "acquisition": "How was the data acquired (crawl, licensed, user-contributed, ...), and with which tools?",
        "timeframe": "Over what timeframe was the data collected, and how does it relate to when the content "
                     "was created?",
        "consent": "Were the people the data is about informed, did they consent, and was there an ethical review?",
    },
    "preprocessing": {
        "cleaning": "What cleaning, deduplication, quality or safety filtering was applied before this audit?",
        "raw_data": "Is the raw (unprocessed) data kept, and where?",
    },
    "uses": {
        "intended": "What is the corpus intended for (e.g. pretraining which models)?",
        "avoid": "Are there uses the corpus should not be put to, given its composition (e.g. the language and "
                 "demographic skews measured above)?",
    },
    "distribution": {
        "how": "Will the corpus be distributed to third parties? How, and when?",
        "license": "Under which licence or terms of use?",
    },
    "maintenance": {
        "maintainer": "Who maintains the corpus, and how can they be contacted?",
        "updates": "Will the corpus be updated (corrections, removals on request, new versions)? How will users "
                   "learn of it?",
    },
}
TOP_LEVEL_KEYS = ("name", "hub")
#: ``hub`` keys holding one text (the card's front matter, except ``citation``: its Citation section).
HUB_TEXT_KEYS = ("pretty_name", "citation")
#: ``hub`` keys holding a list of identifiers (a single text is taken as a list of one).
HUB_LIST_KEYS = ("license", "tags", "task_categories", "task_ids", "annotations_creators", "language_creators",
                 "multilinguality", "source_datasets")


class MetadataError(ReportError):
    """An unusable metadata file: one clear line, exit code 2."""


def _suggest(key: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(key, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _answer(value: Any, where: str, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        kind = "nothing" if value is None else type(value).__name__
        raise MetadataError(f"{path}: {where} must be text, got {kind}")
    text = str(value).strip()
    if not text:
        raise MetadataError(f"{path}: {where} is empty (leave it out to keep the prompt)")
    if len(text) > MAX_ANSWER_CHARACTERS:
        raise MetadataError(f"{path}: {where} is longer than {MAX_ANSWER_CHARACTERS:,} characters")
    return text


#: A one-line field (``name``, ``hub.pretty_name``, a hub identifier) is at most this long.
MAX_LINE_CHARACTERS = 200


def _one_line(value: Any, where: str, path: str) -> str:
    """A one-line text field: a YAML string (never a number read as one), without line breaks or
    HTML comment markers, at most `MAX_LINE_CHARACTERS` long; it goes into headings and front matter."""
    if not isinstance(value, str):
        kind = "nothing" if value is None else type(value).__name__
        raise MetadataError(f"{path}: {where} must be one line of text (quote it), got {kind}")
    text = value.strip()
    if not text:
        raise MetadataError(f"{path}: {where} is empty (leave it out)")
    if "\n" in text or "\r" in text or any(ord(char) < 32 for char in text):
        raise MetadataError(f"{path}: {where} must be one line of text (it holds a line break or control character)")
    if "<!--" in text or "-->" in text:
        raise MetadataError(f"{path}: {where} must not hold an HTML comment marker (<!-- or -->)")
    if len(text) > MAX_LINE_CHARACTERS:
        raise MetadataError(f"{path}: {where} is longer than {MAX_LINE_CHARACTERS} characters")
    return text


def _hub(value: Any, path: str) -> dict[str, Any]:
    """The ``hub`` mapping: texts for `HUB_TEXT_KEYS`, lists of identifiers for `HUB_LIST_KEYS`."""
    if not isinstance(value, dict):
        kind = "nothing" if value is None else type(value).__name__
        raise MetadataError(f"{path}: section 'hub' must be a mapping, got {kind}")
    allowed = list(HUB_TEXT_KEYS) + list(HUB_LIST_KEYS)
    hub: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or key not in allowed:
            raise MetadataError(f"{path}: unknown key hub.{key}{_suggest(str(key), allowed)}; "
                                f"accepted in hub: {', '.join(allowed)}")
        if key == "pretty_name":
            hub[key] = _one_line(item, f"hub.{key}", path)
            continue
        if key in HUB_TEXT_KEYS:
            hub[key] = _answer(item, f"hub.{key}", path)
            if "```" in hub[key]:
                raise MetadataError(f"{path}: hub.{key} must not contain ``` (it is shown inside a code fence)")
            continue
        items = item if isinstance(item, list) else [item]
        if not items:
            raise MetadataError(f"{path}: hub.{key} is empty (leave it out)")
        hub[key] = [_one_line(entry, f"hub.{key}", path) for entry in items]
    return hub


def parse_metadata(text: str, path: str = "metadata") -> dict[str, Any]:
    """Validate YAML text; returns ``{"name": str | None, "answers": {(section, key): text}, "hub": {...}}``."""
    import yaml

    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_METADATA_DEPTH:
                    line = event.start_mark.line + 1 if event.start_mark is not None else "?"
                    raise MetadataError(f"{path}: nested deeper than {MAX_METADATA_DEPTH} levels (line {line}); "
                                        "expected sections of question: answer text")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        data = yaml.safe_load(text)
    except RecursionError:
        raise MetadataError(f"{path}: nested too deeply to read") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MetadataError(f"{path}: not valid YAML{where}: {problem}") from exc
    if data is None:
        raise MetadataError(f"{path}: the file is empty; expected a mapping of datasheet sections")
    if not isinstance(data, dict):
        raise MetadataError(f"{path}: expected a mapping of datasheet sections at the top level, "
                            f"got {type(data).__name__}")
    allowed = list(TOP_LEVEL_KEYS) + list(PROMPTS)
    result: dict[str, Any] = {"name": None, "answers": {}, "hub": {}}
    for section, value in data.items():
        if not isinstance(section, str) or section not in allowed:
            raise MetadataError(f"{path}: unknown key {section!r}{_suggest(str(section), allowed)}; "
                                f"accepted: {', '.join(allowed)}")
        if section == "name":
            result["name"] = _one_line(value, "name", path)
            continue
        if section == "hub":
            result["hub"] = _hub(value, path)
            continue
        if not isinstance(value, dict):
            kind = "nothing" if value is None else type(value).__name__
            raise MetadataError(f"{path}: section {section!r} must be a mapping of questions, got {kind}")
        questions = list(PROMPTS[section])
        for key, answer in value.items():
            if not isinstance(key, str) or key not in PROMPTS[section]:
                raise MetadataError(f"{path}: unknown question {section}.{key}{_suggest(str(key), questions)}; "
                                    f"accepted in {section}: {', '.join(questions)}")
            result["answers"][(section, key)] = _answer(answer, f"{section}.{key}", path)
    return result


def load_metadata(path: str) -> dict[str, Any]:
    """Read and validate a metadata YAML file (size-limited, UTF-8, ``yaml.safe_load``)."""
    if "://" not in path and not os.path.isfile(path):
        raise MetadataError(f"metadata file not found: {path}")
    try:
        data = read_bytes(path, MAX_METADATA_BYTES)
    except OSError as exc:
        raise MetadataError(f"cannot read metadata file {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_METADATA_BYTES:
        raise MetadataError(f"{path}: larger than {MAX_METADATA_BYTES // 1024} KiB; a datasheet's answers fit in less")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MetadataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return parse_metadata(text, path)
