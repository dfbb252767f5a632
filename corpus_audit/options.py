"""Typed options, declared once: each is a field of a frozen dataclass (an `Options` subclass)
with its default, help text and check. The command line fills them from argparse
(`Options.add_arguments`, `Options.from_namespace`), the Python API from keyword arguments
(`Options.from_values`, which checks each value's type); both end in the same checks
(``__post_init__``), with the same one-line `UsageError`. No argv is ever built or re-parsed.

The field name is the option's name: ``langid_threshold`` is ``--langid-threshold`` on the
command line and ``langid_threshold=`` in `corpus_audit.api.audit`. Several stages may declare
the same field (pronouns and descriptors share ``english_lexicons_on``): it is one option.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from typing import Any, Callable, ClassVar, Iterable, Mapping

from corpus_audit.errors import UsageError

__all__ = ["Options", "check_range", "comma_list", "option", "option_fields"]

_MISSING = dataclasses.MISSING


def option(default: Any = None, *, help: str, metavar: str | None = None, choices: Iterable[str] | None = None,
           check: Callable[[Any], str | None] | None = None, parse: Callable[[str], Any] | None = None,
           flags: tuple[str, ...] = (), hidden: bool = False, cli_default: str | None = None,
           path: bool = False) -> Any:
    """A dataclass field that is an option.

    ``check(value)`` returns what is wrong (completed into "--name <it>") or None; ``parse``
    turns the command line's string into the value (default: from the annotation); ``flags``:
    extra spellings (``-o``); ``path``: a str option that also takes an ``os.PathLike``;
    ``cli_default``: the default as the command line writes it, shown in ``--help``."""
    metadata = {"help": help, "metavar": metavar, "choices": tuple(choices) if choices else None, "check": check,
                "parse": parse, "flags": flags, "hidden": hidden, "cli_default": cli_default, "path": path}
    if isinstance(default, (list, dict, set)):
        raise TypeError("option defaults must be immutable (use a tuple)")
    return dataclasses.field(default=default, metadata={"option": metadata})


def comma_list(value: str) -> tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")``: the command line's spelling of a list option."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


def check_range(low: float, high: float, *, low_open: bool = False) -> Callable[[Any], str | None]:
    """A check: the value lies in [low, high] (or (low, high] with ``low_open``)."""
    def check(value: Any) -> str | None:
        if value is None:
            return None
        inside = (low < value if low_open else low <= value) and value <= high
        return None if inside else f"must be in {'(' if low_open else '['}{low:g}, {high:g}], got {value}"
    return check


def option_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of ``cls`` that are options, in declaration order."""
    return [f for f in dataclasses.fields(cls) if "option" in f.metadata]


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class Options:
    """Base of an options dataclass (subclasses are ``@dataclasses.dataclass(frozen=True)``).

    ``GROUP``: the heading of its options in ``--help`` (None: the command's own options)."""

    GROUP: ClassVar[str | None] = None

    def __post_init__(self) -> None:
        for f in option_fields(type(self)):
            check = f.metadata["option"]["check"]
            value = getattr(self, f.name)
            choices = f.metadata["option"]["choices"]
            if choices and value is not None and value not in choices:
                raise UsageError(f"{flag(f.name)} must be one of {', '.join(choices)}, got {value!r}")
            problem = check(value) if check is not None else None
            if problem:
                raise UsageError(f"{flag(f.name)} {problem}")
        self.check()

    def check(self) -> None:
        """Checks across several fields (raise `UsageError`); the single-field ones are declared."""

    # -- the command line ----------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser | Any, only: Iterable[str] | None = None) -> None:
        """Add the options to ``parser`` (in a group headed `GROUP`); options already there (a
        field another stage declares too) are not added twice. ``only``: just these fields (a
        command that takes some of another's options, as declared there)."""
        target = parser.add_argument_group(cls.GROUP) if cls.GROUP else parser
        known = getattr(parser, "_option_string_actions", {})
        hints = typing.get_type_hints(cls)
        wanted = None if only is None else set(only)
        for f in option_fields(cls):
            if flag(f.name) in known or (wanted is not None and f.name not in wanted):
                continue
            target.add_argument(flag(f.name), *f.metadata["option"]["flags"], dest=f.name,
                                **_argparse_kwargs(f, hints[f.name]))

    @classmethod
    def from_namespace(cls, namespace: argparse.Namespace) -> "Options":
        """The options parsed by a parser `add_arguments` filled (absent ones: their defaults)."""
        values = {f.name: getattr(namespace, f.name) for f in option_fields(cls) if hasattr(namespace, f.name)}
        return cls(**values)

    # -- the Python API ------------------------------------------------------------------
    @classmethod
    def from_values(cls, values: Mapping[str, Any], caller: str = "audit()") -> "Options":
        """The options named in ``values`` (others: their defaults), each checked against its
        declared type first: a wrong type is a `UsageError` naming the parameter, never a
        TypeError from deep inside a run. Keys that are not fields of ``cls`` are ignored."""
        hints = typing.get_type_hints(cls)
        chosen = {}
        for f in option_fields(cls):
            if f.name in values:
                chosen[f.name] = coerce(values[f.name], hints[f.name], f, caller)
        return cls(**chosen)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in option_fields(type(self))}


def _argparse_kwargs(f: dataclasses.Field, hint: Any) -> dict[str, Any]:
    meta = f.metadata["option"]
    help_text = argparse.SUPPRESS if meta["hidden"] else meta["help"]
    base, optional = _unwrap(hint)
    if base is bool:
        return {"action": "store_true", "help": help_text}
    kwargs: dict[str, Any] = {"default": f.default, "help": help_text}
    if meta["metavar"]:
        kwargs["metavar"] = meta["metavar"]
    if meta["choices"]:
        kwargs["choices"] = meta["choices"]
    parse = meta["parse"] or _PARSERS.get(base)
    if parse is not None:
        kwargs["type"] = _argparse_type(parse)
    return kwargs


def _argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc) or f"invalid value {text!r}") from None
    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed) of ``X | None``; tuple[str, ...] → tuple."""
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        base, _ = _unwrap(rest[0]) if len(rest) == 1 else (hint, False)
        return base, type(None) in args
    if origin is tuple:
        return tuple, False
    return hint, False


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None


def number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


_PARSERS: dict[Any, Callable[[str], Any]] = {int: whole_number, float: number, tuple: comma_list}


def coerce(value: Any, hint: Any, f: dataclasses.Field, caller: str) -> Any:
    """``value`` for the field ``f`` (declared ``hint``) as given through the API, or `UsageError`."""
    meta = f.metadata["option"]
    base, optional = _unwrap(hint)
    if value is None and optional:
        return None
    if meta["path"] and isinstance(value, os.PathLike):
        value = os.fspath(value)
    ok = {bool: lambda v: isinstance(v, bool),
          int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          str: lambda v: isinstance(v, str)}
    if base is tuple:
        if isinstance(value, str):
            return comma_list(value)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(v.strip() for v in value if v.strip())
        raise UsageError(f"{caller}: {f.name} ({flag(f.name)}) must be a list of strings or a comma-separated "
                         f"string, got {type(value).__name__}")
    if meta["parse"] is not None and not (base in ok and ok[base](value)):
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            try:
                return meta["parse"](str(value))
            except (TypeError, ValueError) as exc:
                raise UsageError(f"{caller}: {f.name} ({flag(f.name)}): {exc}") from None
    if base in ok and not ok[base](value):
        raise UsageError(f"{caller}: {f.name} ({flag(f.name)}) must be {_kind(base)}{' or None' if optional else ''}, "
                         f"got {type(value).__name__} {value!r:.60}")
    if base is float and (value != value or value in (float("inf"), float("-inf"))):
        raise UsageError(f"{caller}: {f.name} ({flag(f.name)}) must be a finite number, got {value!r}")
    return float(value) if base is float else value


def _kind(base: Any) -> str:
    return {bool: "True or False", int: "a whole number", float: "a number", str: "a string"}.get(base, str(base))
