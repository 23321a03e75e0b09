"""Python strategies as code to load and as stored, versioned documents.

Loading: a strategy file's text is executed once per process as its own module (a worker
process loads it from the text it was sent, wherever the file is); the
:class:`~omoitrade.strategy.base.Strategy` subclasses it defines are what it offers.

Storing: a Python strategy is kept like a rule document, as a JSON object that versions,
diffs and rolls back the same way::

    {"name": "momentum_breakout", "version": 1, "description": "...",
     "instruments": ["SIM:BTC/USD"], "timeframe": "1m",
     "parameters": {"entry_period": 20, "exit_period": 10, "quantity": "1"},
     "python": {"class": "MomentumBreakout", "file": "momentum_breakout.py", "code": "..."}}

``parameters`` are JSON values (a Decimal as its text), checked against the class's
``params_type`` when the document is validated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import sys
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import Timeframe
from omoitrade.strategy.base import Strategy, StrategyContext, validate_parameters
from omoitrade.strategy.document import (
    NAME_PATTERN,
    StrategyDocument,
    StrategyDocumentError,
    validate_document,
)
from omoitrade.strategy.rules import Problem

PYTHON_FIELDS = ("name", "version", "description", "instruments", "timeframe", "parameters")
_LOCK = threading.Lock()


# --- loading ----------------------------------------------------------------------------------
def strategy_classes(path: str, text: str) -> list[type[Strategy]]:
    """The Strategy subclasses a strategy file defines (not those it imports)."""
    module = _load_module(path, text)
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Strategy)
        and value is not Strategy
        and value.__module__ == module.__name__
    ]


def only_strategy_class(path: str, text: str) -> type[Strategy]:
    """The one Strategy subclass a strategy file defines; ValidationError if it defines
    none or several."""
    classes = strategy_classes(path, text)
    if len(classes) != 1:
        found = ", ".join(c.__name__ for c in classes) or "none"
        raise ValidationError(
            "strategy",
            f"{Path(path).name} must define exactly one Strategy subclass (found: {found})",
        )
    return classes[0]


def load_strategy_class(path: str, text: str, class_name: str) -> type[Strategy]:
    """The class ``class_name`` of a strategy file; ValidationError if it is not one."""
    module = _load_module(path, text)
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ValidationError("strategy", f"{Path(path).name} defines no {class_name}")
    return cls


def parameter_defaults(cls: type[Strategy]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The defaults of the class's ``params_type`` fields, and the names without one."""
    defaults: dict[str, Any] = {}
    required: list[str] = []
    if cls.params_type is None:
        return defaults, ()
    if not dataclasses.is_dataclass(cls.params_type):
        raise ValidationError("strategy", f"{cls.__name__}.params_type must be a dataclass")
    for f in dataclasses.fields(cls.params_type):
        if f.default is not dataclasses.MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            defaults[f.name] = f.default_factory()
        else:
            required.append(f.name)
    return defaults, tuple(required)


def _load_module(path: str, text: str) -> Any:
    digest = hashlib.sha256(f"{path}\0{text}".encode()).hexdigest()[:16]
    name = f"omoitrade_strategy_{digest}"
    with _LOCK:
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_loader(name, loader=None, origin=path)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        module.__file__ = path
        sys.modules[name] = module  # dataclasses and type hints look their module up
        try:
            exec(compile(text, path, "exec"), module.__dict__)
        except Exception as error:
            del sys.modules[name]
            where = f" (line {error.lineno})" if isinstance(error, SyntaxError) else ""
            raise ValidationError(
                "strategy",
                f"cannot load {Path(path).name}{where}: {type(error).__name__}: {error}",
            ) from None
        return module


# --- stored documents -------------------------------------------------------------------------
@dataclass(frozen=True)
class PythonStrategyDocument:
    """A validated Python strategy document and the class it runs."""

    name: str
    version: int
    description: str
    instruments: tuple[str, ...]
    timeframe: Timeframe
    parameters: dict[str, Any]  # JSON values, as stored
    class_name: str
    file: str
    code: str
    strategy_class: type[Strategy]

    def build(self, context: StrategyContext) -> Strategy:
        """The strategy on ``context`` with the document's parameters."""
        return self.strategy_class(context, self.parameters, name=self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "instruments": list(self.instruments),
            "timeframe": self.timeframe.value,
            "parameters": dict(self.parameters),
            "python": {"class": self.class_name, "file": self.file, "code": self.code},
        }


def is_python_document(data: Any) -> bool:
    """Whether ``data`` is a Python strategy's document (it has ``python``)."""
    return isinstance(data, dict) and "python" in data


def python_document(
    path: Path, instruments: list[str], timeframe: Timeframe | str, name: str | None = None
) -> dict[str, Any]:
    """The document of a strategy file that defines exactly one Strategy subclass, with its
    parameters' defaults (not validated: :func:`validate_python_document` does that)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationError("file", f"cannot read {path}: {error}") from None
    cls = only_strategy_class(str(path), text)
    defaults, _ = parameter_defaults(cls)
    summary = (cls.__doc__ or "").strip().splitlines()
    return {
        "name": name or cls.__name__,  # as backtests and optimizations call it
        "version": 1,
        "description": summary[0] if summary else "",
        "instruments": list(instruments),
        "timeframe": Timeframe(timeframe).value,
        "parameters": {k: _json_value(v) for k, v in defaults.items()},
        "python": {"class": cls.__name__, "file": Path(path).name, "code": text},
    }


def validate_python_document(data: Any) -> PythonStrategyDocument:
    """``data`` as a Python strategy document, or StrategyDocumentError naming the path
    and rule of every problem (a class that does not load, or refuses its parameters,
    is one)."""
    problems: list[Problem] = []

    def fail(path: str, rule: str) -> None:
        problems.append(Problem(path, rule))

    if not isinstance(data, dict):
        raise StrategyDocumentError([Problem("", "the document must be a JSON object")])
    for key in sorted(set(data) - {*PYTHON_FIELDS, "python"}):
        fail(key, f"unknown field (expected one of {[*PYTHON_FIELDS, 'python']})")
    name, version = data.get("name"), data.get("version", 1)
    if not (isinstance(name, str) and NAME_PATTERN.match(name)):
        fail("name", "must be 1-64 letters, digits, '_', '.' or '-'")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        fail("version", "must be an integer >= 1")
    description = data.get("description", "")
    if not isinstance(description, str):
        fail("description", "must be a string")
    instruments = data.get("instruments")
    if not (isinstance(instruments, list) and instruments):
        fail("instruments", "must be a non-empty list of instrument names")
    elif not all(isinstance(i, str) and i.strip() for i in instruments):
        fail("instruments", "must hold non-empty strings")
    timeframe = data.get("timeframe")
    if timeframe not in [t.value for t in Timeframe]:
        fail("timeframe", f"must be one of {[t.value for t in Timeframe]}")
    parameters = data.get("parameters", {})
    if not isinstance(parameters, dict):
        fail("parameters", "must be an object of name: value")
    python = data.get("python")
    if not (isinstance(python, dict) and set(python) <= {"class", "file", "code"}):
        fail("python", "must be an object with class, file and code")
        python = {}
    class_name, code = python.get("class"), python.get("code")
    file = python.get("file", "strategy.py")
    for key, value in (("class", class_name), ("file", file), ("code", code)):
        if not (isinstance(value, str) and value):
            fail(f"python.{key}", "must be a non-empty string")
    cls: type[Strategy] | None = None
    if not problems:
        try:
            cls = load_strategy_class(str(file), str(code), str(class_name))
            if cls.params_type is not None:
                validate_parameters(cls.params_type, parameters)
            elif parameters:
                fail("parameters", f"{class_name} takes no parameters")
        except ValidationError as error:
            where = "python" if error.field == "strategy" else f"parameters.{error.field}"
            fail(where, error.rule)
    if problems:
        raise StrategyDocumentError(problems)
    assert cls is not None and isinstance(name, str) and isinstance(instruments, list)
    return PythonStrategyDocument(
        name=name,
        version=int(version),
        description=str(description),
        instruments=tuple(instruments),
        timeframe=Timeframe(str(timeframe)),
        parameters=dict(parameters),
        class_name=str(class_name),
        file=str(file),
        code=str(code),
        strategy_class=cls,
    )


def _json_value(value: Any) -> Any:
    """A parameter's default as JSON (a Decimal as its text)."""
    return str(value) if isinstance(value, Decimal) else value


def validate_strategy_document(data: Any) -> StrategyDocument | PythonStrategyDocument:
    """A stored strategy's document: a Python strategy's (it has ``python``) or a rule
    document; StrategyDocumentError with every problem either way."""
    return validate_python_document(data) if is_python_document(data) else validate_document(data)
