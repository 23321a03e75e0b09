"""Field normalization shared by every entity's constructor.

Entities declare their field types; :func:`normalize_fields` makes the values
match them:

- enum fields given as plain strings become enum members (so ``is``
  comparisons and the transition tables behave);
- Decimal fields are checked to be finite, bounded Decimals (ints and numeric
  strings are converted; floats are refused with the field named);
- identifier fields (a :class:`UuidIdentifier` or :class:`StrIdentifier`
  subclass, optional or in a list) become that identifier kind, so a UUID or its
  text is accepted and junk is refused with the field named;
- JSON fields (``dict[str, Any]``, optionally ``| None``, and ``list[str]``)
  must hold only JSON values, so the store can save them and read back the same.

The per-class normalizer is generated once, as straight-line code; a value that
already has the declared type costs one ``type(value) is kind`` test (and a
Decimal a finiteness and magnitude check: ``Decimal("NaN")`` is a Decimal too).
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, fields
from decimal import Decimal
from enum import Enum
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import StrIdentifier, UuidIdentifier
from omoitrade.model.money import MAX_EXPONENT, to_decimal
from omoitrade.model.timestamps import require_utc

JSON_RULE = "must contain only JSON values (str, int, float, bool, None, lists and objects)"
MAX_JSON_DEPTH = 100  # nesting levels of lists and objects (a cycle would be endless)

_Coerce = Callable[[str, Any], Any]
# (field name, type a conforming value has exactly or None, may be None, coercion)
_Plan = tuple[tuple[str, type | None, bool, _Coerce], ...]
_NORMALIZERS: dict[type, Callable[[Any], None]] = {}  # per class, generated on first use


# --- coercions -------------------------------------------------------------------------------


def _enum(kind: type[Enum]) -> _Coerce:
    def coerce(name: str, value: Any) -> Any:
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise ValidationError(name, f"must be one of {allowed}", value) from None

    return coerce


def _identifier(kind: type[UuidIdentifier] | type[StrIdentifier]) -> _Coerce:
    make: Callable[[Any], Any] = kind.parse if issubclass(kind, UuidIdentifier) else kind

    def coerce(name: str, value: Any) -> Any:
        try:
            return make(value)
        except ValidationError as error:  # names the kind; name the field instead
            raise ValidationError(name, error.rule, value) from None

    return coerce


def _identifier_list(kind: type[UuidIdentifier] | type[StrIdentifier]) -> _Coerce:
    element = _identifier(kind)

    def coerce(name: str, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise ValidationError(name, f"must be a list of {kind.__name__}", value)
        if type(value) is list and all(type(item) is kind for item in value):
            return value
        return [element(name, item) for item in value]

    return coerce


_JSON_SCALARS = frozenset({str, int, bool, type(None)})  # exact types: the fast path


def _json_problem(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` is not plain JSON data (None when it is).

    Dispatches on the exact type first (the common case), then on subclasses
    (enum members, identifiers, ordered dicts count as what they extend).
    """
    kind = type(value)
    if kind in _JSON_SCALARS:
        return None
    if kind is float:
        return None if math.isfinite(value) else JSON_RULE
    if kind is not dict and kind is not list:
        if isinstance(value, str | int):  # int includes bool
            return None
        if isinstance(value, float):
            return None if math.isfinite(value) else JSON_RULE
        if not isinstance(value, dict | list):
            return JSON_RULE
    if depth >= MAX_JSON_DEPTH:
        return f"must not nest lists and objects deeper than {MAX_JSON_DEPTH} levels"
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                return JSON_RULE
            if type(item) not in _JSON_SCALARS:
                problem = _json_problem(item, depth + 1)
                if problem is not None:
                    return problem
        return None
    for item in value:
        if type(item) not in _JSON_SCALARS:
            problem = _json_problem(item, depth + 1)
            if problem is not None:
                return problem
    return None


def require_json(field: str, value: Any) -> None:
    """``value`` must be a JSON object: a dict with string keys holding only JSON values.

    Lists and objects only (no tuples, sets, Decimals, datetimes, identifiers or
    NaN), so what the store saves is read back equal.
    """
    if not isinstance(value, dict):
        raise ValidationError(field, "must be a JSON object (a dict with string keys)", value)
    if value:
        problem = _json_problem(value)
        if problem is not None:
            raise ValidationError(field, problem, value)


def require_timestamp(field: str, value: Any) -> None:
    """A required timestamp argument (``at``): a timezone-aware UTC datetime, never None."""
    if value is None:
        raise ValidationError(field, "must be a datetime", value)
    require_utc(field, value)


def _json_object(name: str, value: Any) -> Any:
    require_json(name, value)
    return value


def _string_list(name: str, value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(name, "must be a list of strings", value)
    return value


def _is_identifier(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, UuidIdentifier | StrIdentifier)


def _coercion(hint: Any) -> tuple[type | None, _Coerce] | None:
    """(exact type of a conforming value, coercion) for a declared type we normalize."""
    if hint is Decimal:  # the fast path also checks that it is finite and bounded
        return Decimal, to_decimal
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint, _enum(hint)
    if _is_identifier(hint):
        return hint, _identifier(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list and len(args) == 1:
        if _is_identifier(args[0]):
            return None, _identifier_list(args[0])
        if args[0] is str:
            return None, _string_list
    if origin is dict and args == (str, Any):
        return None, _json_object
    return None


def _plan(cls: type) -> _Plan:
    """The normalization of each field of ``cls`` that needs one."""
    hints = typing.get_type_hints(cls)
    found = []
    for field in fields(cls):
        hint = hints[field.name]
        optional = False
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            optional = len(inner) < len(typing.get_args(hint))
            hint = inner[0] if len(inner) == 1 else None
        coercion = _coercion(hint)
        if coercion is not None:
            found.append((field.name, coercion[0], optional, coercion[1]))
    return tuple(found)


def _compile(cls: type) -> Callable[[Any], None]:
    """A normalizer for ``cls``: straight-line code, one test per field on the fast path.

    Generated once per class (as :mod:`dataclasses` generates ``__init__``): a value
    of exactly the declared type passes with ``type(v) is K`` (for a Decimal, also
    finite and bounded), None passes where allowed, anything else goes to the
    field's coercion, whose result is stored if it is a new object.
    """
    namespace: dict[str, Any] = {
        "_set": object.__setattr__,
        "_LOW": -MAX_EXPONENT,
        "_HIGH": MAX_EXPONENT,
    }
    lines = ["def normalize(self):"]
    for index, (name, kind, optional, coerce) in enumerate(_plan(cls)):
        namespace[f"_K{index}"], namespace[f"_C{index}"] = kind, coerce
        passes = "False" if kind is None else f"type(v) is _K{index}"
        if kind is Decimal:
            passes += " and v.is_finite() and (_LOW <= v.adjusted() <= _HIGH or not v)"
        if optional:
            passes = f"v is None or ({passes})"
        lines += [
            f"    v = self.{name}",
            f"    if not ({passes}):",
            f"        c = _C{index}({name!r}, v)",
            "        if c is not v:",
            f"            _set(self, {name!r}, c)",
        ]
    lines.append("    return None")
    exec("\n".join(lines), namespace)  # field names are identifiers; values come via namespace
    normalize: Callable[[Any], None] = namespace["normalize"]
    return normalize


def normalize_fields(instance: Any) -> None:
    """Coerce the typed fields of a dataclass instance in place (frozen ones too)."""
    cls = type(instance)
    normalize = _NORMALIZERS.get(cls)
    if normalize is None:
        normalize = _NORMALIZERS[cls] = _compile(cls)
    normalize(instance)


def slot_builder(cls: type) -> Callable[..., Any]:
    """A function taking a slotted dataclass's fields as keywords that sets its slots
    directly, without ``__post_init__`` (so without its checks: for values already checked).

    Generate it once per class (as :mod:`dataclasses` generates ``__init__``); the slots'
    own setters bypass a frozen class's ``__setattr__``.
    """
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    params, lines = [], []
    for index, field in enumerate(fields(cls)):
        namespace[f"_s{index}"] = getattr(cls, field.name).__set__
        if field.default is not MISSING:
            namespace[f"_d{index}"] = field.default
            params.append(f"{field.name}=_d{index}")
        elif field.default_factory is not MISSING:
            namespace[f"_f{index}"] = field.default_factory
            params.append(f"{field.name}=None")
            lines.append(f"    if {field.name} is None: {field.name} = _f{index}()")
        else:
            params.append(field.name)
        lines.append(f"    _s{index}(e, {field.name})")
    required = [p for p in params if "=" not in p]
    optional = [p for p in params if "=" in p]
    header = f"def build(*, {', '.join(required + optional)}):"
    source = "\n".join([header, "    e = _new(_cls)", *lines, "    return e"])
    exec(source, namespace)  # field names are identifiers; values come via the namespace
    build: Callable[..., Any] = namespace["build"]
    return build
