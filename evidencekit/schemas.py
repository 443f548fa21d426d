"""The JSON Schemas in ``schemas/`` (packaged as ``evidencekit/_schemas`` in wheels), and validation."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from evidencekit.errors import ValidationError

_PACKAGED = Path(__file__).parent / "_schemas"
_SOURCE_TREE = Path(__file__).parent.parent / "schemas"


def schema_dir() -> Path:
    return _PACKAGED if _PACKAGED.is_dir() else _SOURCE_TREE


@cache
def load_schema(name: str) -> dict[str, Any]:
    """``name`` is the file stem, e.g. ``ledger-entry`` for schemas/ledger-entry.schema.json.

    The schemas themselves are checked against the 2020-12 meta-schema by the tests, not here: that check
    costs a fifth of a second, every time a command starts, for files that ship with the code."""
    path = schema_dir() / f"{name}.schema.json"
    try:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"no schema named {name!r} in {schema_dir()}") from None
    return schema


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(name), format_checker=jsonschema.FormatChecker())


def schema_problems(name: str, document: Any) -> list[str]:
    """Every way ``document`` fails the schema, as ``path: message`` lines (empty when valid)."""
    validator = _validator(name)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def validate(name: str, document: Any) -> None:
    problems = schema_problems(name, document)
    if problems:
        raise ValidationError(f"does not match the {name} schema: {problems[0]}")
