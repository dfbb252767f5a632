"""HolisticBias descriptor lists (Smith et al. 2022) for Llama 2 Table 9b (SPEC §4).

Sources, in order of precedence:

1. a ``descriptors.json`` given with ``--holistic-bias-descriptors PATH`` (official v1.0,
   v1.1, ... or any file in the same layout);
2. the official file downloaded by ``corpus-audit lexicons download holistic-bias``;
3. ``holistic_bias_default.json`` shipped here: written for this project, not the official
   list (its own version id), used when neither of the above is available.

Official files are recognised by their sha256 (`OFFICIAL_DIGESTS`), not by the folder they
sit in: an edited copy under ``v1.1/`` is labelled "modified from holistic-bias v1.1", any other
file "custom".

Layout (both official versions): ``{axis: {bucket: [descriptor, ...]}}`` where a descriptor
is a string or an object with a ``"descriptor"`` string (plus e.g. ``gender``,
``preference``). Keys starting with ``_`` (our ``_about``) are metadata, not axes.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable

from corpus_audit.lexicons.cache import LexiconError, cached_lexicon_dir, read_lexicon_file, read_lexicon_json
from corpus_audit.lexicons.matching import term_tokens

__all__ = ["CUSTOM_NAME", "DEFAULT_AMBIGUOUS_TERMS", "DEFAULT_AXES", "DEFAULT_AXIS_PRIORITY", "DEFAULT_EXCLUDED_TERMS",
           "DescriptorLexicon", "OFFICIAL_DIGESTS", "OFFICIAL_FILE", "OFFICIAL_NAME", "build_descriptor_lexicon",
           "default_descriptor_path", "identify_descriptor_file", "load_descriptor_lexicon", "parse_descriptor_file",
           "resolve_descriptor_path", "validate_download"]

#: The five axes of Llama 2 Table 9b, in the paper's order.
DEFAULT_AXES = ("gender_and_sex", "sexual_orientation", "nationality", "race_ethnicity", "religion")
#: Ambiguous terms (SPEC §4): counted in the axis ``percent`` as the paper does, not in
#: ``percent_unambiguous``, and left out of the top-k lists ("we remove ... straight, white, and black").
DEFAULT_AMBIGUOUS_TERMS = ("straight", "white", "black")
#: Terms not matched at all (none by default).
DEFAULT_EXCLUDED_TERMS: tuple[str, ...] = ()
#: A term listed under several axes counts under the first of these (then the --axes order).
#: Llama 2 Table 9b lists lgbt, lgbtq and queer under Sexual Orientation (SPEC §4).
DEFAULT_AXIS_PRIORITY = ("sexual_orientation",)
OFFICIAL_FILE = "descriptors.json"
OFFICIAL_NAME = "holistic-bias"
#: sha256 of the official ``descriptors.json`` files (facebookresearch/ResponsibleNLP) → version.
OFFICIAL_DIGESTS = {
    "355ba8039d83f4b387b6f069ea9cb2374c1c5d2abceb2e99a41e9cab664a90ec": "v1.0",
    "c1328f0edfdeefb76302d360a01878df3db55f18026f4ea1956b4a0f52daf943": "v1.1",
}
#: The ``name`` of a list that is not an official file (its version says what it was modified from).
CUSTOM_NAME = "custom"


@dataclass(frozen=True)
class DescriptorLexicon:
    """The descriptors to match: token tuple → (axis, descriptor), plus provenance."""

    name: str
    version: str
    source: str
    sha256: str
    axes: tuple[str, ...]
    terms: dict[tuple[str, ...], tuple[str, str]]
    excluded_terms: tuple[str, ...]
    #: Terms listed under several axes: {"descriptor", "listed_under", "counted_under"}.
    reassigned: list[dict[str, Any]] = field(default_factory=list)
    #: Ambiguous terms as written (`DEFAULT_AMBIGUOUS_TERMS`); those of the list are in ``ambiguous``.
    ambiguous_terms: tuple[str, ...] = ()
    #: Token tuples of ``terms`` that are ambiguous (matched, flagged, out of top-k and ``percent_unambiguous``).
    ambiguous: frozenset[tuple[str, ...]] = frozenset()

    def is_ambiguous(self, axis_descriptor: tuple[str, str]) -> bool:
        """Whether ``(axis, descriptor)`` (as found in a document) is an ambiguous term."""
        return axis_descriptor in self._ambiguous_pairs

    @functools.cached_property
    def _ambiguous_pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset(self.terms[tokens] for tokens in self.ambiguous if tokens in self.terms)

    def descriptors_per_axis(self) -> dict[str, int]:
        counts = {axis: 0 for axis in self.axes}
        for axis, _ in self.terms.values():
            counts[axis] += 1
        return counts


def default_descriptor_path() -> str:
    return str(resources.files("corpus_audit.lexicons") / "holistic_bias_default.json")


def parse_descriptor_file(data: Any, source: str) -> dict[str, list[tuple[str, str]]]:
    """``{axis: [(bucket, descriptor), ...]}`` from a descriptors.json object, checked."""
    if not isinstance(data, dict):
        raise LexiconError(f"{source}: expected a JSON object of axis -> buckets, got {type(data).__name__}")
    axes: dict[str, list[tuple[str, str]]] = {}
    for axis, buckets in data.items():
        if axis.startswith("_"):
            continue
        if isinstance(buckets, list):  # an axis without buckets
            buckets = {axis: buckets}
        if not isinstance(buckets, dict):
            raise LexiconError(f"{source}: axis {axis!r}: expected an object of bucket -> list of descriptors, "
                               f"got {type(buckets).__name__}")
        entries: list[tuple[str, str]] = []
        for bucket, items in buckets.items():
            if not isinstance(items, list):
                raise LexiconError(f"{source}: axis {axis!r} bucket {bucket!r}: expected a list of descriptors, "
                                   f"got {type(items).__name__}")
            for index, item in enumerate(items):
                descriptor = item.get("descriptor") if isinstance(item, dict) else item
                if not isinstance(descriptor, str) or not term_tokens(descriptor):
                    raise LexiconError(f"{source}: axis {axis!r} bucket {bucket!r} item {index}: expected a "
                                       f"descriptor string or an object with a \"descriptor\" string, got {item!r}"[:400])
                entries.append((bucket, descriptor))
        axes[axis] = entries
    return axes


def build_descriptor_lexicon(parsed: dict[str, list[tuple[str, str]]], *, axes: Iterable[str] = DEFAULT_AXES,
                             excluded_terms: Iterable[str] = DEFAULT_EXCLUDED_TERMS,
                             axis_priority: Iterable[str] = DEFAULT_AXIS_PRIORITY, name: str, version: str,
                             source: str, sha256: str,
                             ambiguous_terms: Iterable[str] = DEFAULT_AMBIGUOUS_TERMS) -> DescriptorLexicon:
    """Select axes, drop excluded terms, flag ambiguous ones, and give each term to exactly one axis."""
    axes = tuple(dict.fromkeys(axes))  # each axis once, in the order given
    axis_priority = tuple(axis_priority)
    missing = [axis for axis in axes if axis not in parsed]
    if missing:
        raise LexiconError(f"{source}: no axis {', '.join(map(repr, missing))}; the file has "
                           f"{', '.join(sorted(parsed))}")
    if not axes:
        raise LexiconError(f"{source}: no axis selected")
    excluded = {term_tokens(term) for term in excluded_terms if term.strip()}
    priority = [axis for axis in axis_priority if axis in axes] + [axis for axis in axes if axis not in axis_priority]
    listed_under: dict[tuple[str, ...], list[str]] = {}
    display: dict[tuple[str, ...], str] = {}
    for axis in priority:
        for _, descriptor in parsed[axis]:
            tokens = term_tokens(descriptor)
            if tokens in excluded:
                continue
            axes_of_term = listed_under.setdefault(tokens, [])
            if axis not in axes_of_term:
                axes_of_term.append(axis)
            display.setdefault(tokens, descriptor.lower())
    terms = {tokens: (axes_of_term[0], display[tokens]) for tokens, axes_of_term in listed_under.items()}
    ambiguous_written = tuple(dict.fromkeys(term.strip().lower() for term in ambiguous_terms if term.strip()))
    ambiguous = frozenset(term_tokens(term) for term in ambiguous_written) & frozenset(terms)
    reassigned = [{"descriptor": display[tokens], "listed_under": sorted(axes_of_term),
                   "counted_under": axes_of_term[0]}
                  for tokens, axes_of_term in sorted(listed_under.items()) if len(axes_of_term) > 1]
    return DescriptorLexicon(name=name, version=version, source=source, sha256=sha256, axes=axes, terms=terms,
                             excluded_terms=tuple(sorted(" ".join(t) for t in excluded)), reassigned=reassigned,
                             ambiguous_terms=ambiguous_written, ambiguous=ambiguous)


def identify_descriptor_file(sha256: str, claimed_version: str | None) -> tuple[str, str]:
    """``(name, version)`` of a descriptors file: official by digest, else what it was modified from.

    ``claimed_version`` is what its location suggests (a ``v1.1/`` folder, the download cache's
    manifest); it labels an edited copy ("modified from holistic-bias v1.1"), never an official one.
    """
    official = OFFICIAL_DIGESTS.get(sha256)
    if official is not None:
        return OFFICIAL_NAME, official
    if claimed_version and claimed_version != "unknown":
        return CUSTOM_NAME, f"modified from {OFFICIAL_NAME} {claimed_version}"
    return CUSTOM_NAME, CUSTOM_NAME


def _version_from_path(path: str) -> str:
    """``v1.1`` for ``.../v1.1/descriptors.json`` (the official layout), else ``unknown``."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
    return folder if re.fullmatch(r"v\d+(?:\.\d+)*", folder) else "unknown"


def resolve_descriptor_path(path: str | None) -> tuple[str, str | None, str | None]:
    """(path, name, version) of the list to use: explicit path > download cache > shipped
    default. Name and version are None for the shipped default: they are in its ``_about``."""
    if path:
        if os.path.isdir(path):
            path = os.path.join(path, OFFICIAL_FILE)
        if not os.path.isfile(path):
            raise LexiconError(f"{path}: HolisticBias descriptors file not found")
        return path, "holistic-bias", _version_from_path(path)
    cached = cached_lexicon_dir("holistic-bias")
    if cached and os.path.isfile(os.path.join(cached, OFFICIAL_FILE)):
        manifest = read_lexicon_json(os.path.join(cached, "manifest.json"))
        if not isinstance(manifest, dict):
            raise LexiconError(f"{cached}/manifest.json: not a lexicon cache manifest; run "
                               "`corpus-audit lexicons download holistic-bias` again")
        return os.path.join(cached, OFFICIAL_FILE), "holistic-bias", str(manifest.get("version", "unknown"))
    return default_descriptor_path(), None, None


def load_descriptor_lexicon(path: str | None = None, *, axes: Iterable[str] = DEFAULT_AXES,
                            excluded_terms: Iterable[str] = DEFAULT_EXCLUDED_TERMS,
                            axis_priority: Iterable[str] = DEFAULT_AXIS_PRIORITY,
                            ambiguous_terms: Iterable[str] = DEFAULT_AMBIGUOUS_TERMS) -> DescriptorLexicon:
    """Load, check and prepare the descriptor list (see the module docstring for precedence)."""
    resolved, name, version = resolve_descriptor_path(path)
    data, sha256 = read_lexicon_file(resolved)
    parsed = parse_descriptor_file(data, resolved)
    if name is None:  # the shipped default names itself
        about = data.get("_about", {})
        name = about.get("name", "corpus-audit-default-descriptors")
        version = about.get("version", "unknown")
    else:
        name, version = identify_descriptor_file(sha256, version)
    return build_descriptor_lexicon(parsed, axes=axes, excluded_terms=excluded_terms, axis_priority=axis_priority,
                                    name=name, version=version, source=resolved, sha256=sha256,
                                    ambiguous_terms=ambiguous_terms)


def validate_download(url: str, data: bytes) -> None:
    """Check a downloaded descriptors.json before it enters the cache."""
    parsed = parse_descriptor_file(json.loads(data.decode("utf-8")), url)
    missing = [axis for axis in DEFAULT_AXES if axis not in parsed]
    if missing:
        raise LexiconError(f"{url}: not a HolisticBias descriptors file (no axis {', '.join(missing)})")
