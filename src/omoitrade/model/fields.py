"""Field normalization shared by every entity's constructor.

Entities declare their field types; :func:`normalize_fields` makes the values
match them: enum fields given as plain strings become enum members (so
``is`` comparisons and the transition tables behave), and Decimal fields are
checked to be finite Decimals (ints and numeric strings are converted; floats
are refused with the field named). The per-class field list is worked out once.
"""

from __future__ import annotations

import types
import typing
from dataclasses import fields
from decimal import Decimal
from enum import Enum
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.model.money import to_decimal

_TYPED_FIELDS: dict[type, tuple[tuple[str, type, bool], ...]] = {}


def _typed_fields(cls: type) -> tuple[tuple[str, type, bool], ...]:
    """(name, Decimal or Enum class, may be None) for each field declared as one."""
    cached = _TYPED_FIELDS.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)
    found = []
    for field in fields(cls):
        hint = hints[field.name]
        optional = False
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            optional = len(inner) < len(typing.get_args(hint))
            hint = inner[0] if len(inner) == 1 else None
        if hint is Decimal or (isinstance(hint, type) and issubclass(hint, Enum)):
            found.append((field.name, hint, optional))
    _TYPED_FIELDS[cls] = result = tuple(found)
    return result


def normalize_fields(instance: Any) -> None:
    """Coerce enum and Decimal fields of a dataclass instance in place (frozen ones too)."""
    for name, kind, optional in _typed_fields(type(instance)):
        value = getattr(instance, name)
        if type(value) is kind or (value is None and optional):
            continue
        if kind is Decimal:
            coerced: Any = to_decimal(name, value)
        else:
            try:
                coerced = kind(value)
            except ValueError:
                allowed = ", ".join(member.value for member in kind)  # type: ignore[attr-defined]
                raise ValidationError(name, f"must be one of {allowed}", value) from None
        object.__setattr__(instance, name, coerced)
