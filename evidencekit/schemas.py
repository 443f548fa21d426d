"""The JSON Schemas in ``schemas/`` (packaged as ``evidencekit/_schemas`` in wheels), and validation."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs

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
def _ecma_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` as JSON Schema means it (ECMA-262): a final ``$`` matches only at the very end. Python's
    ``$`` also matches before a final newline, so "PT\\n" would pass ``^[A-Z]{2}$``."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: Any
) -> Iterator[jsonschema.exceptions.ValidationError]:
    if validator.is_type(instance, "string") and not _ecma_pattern(pattern).search(instance):
        yield jsonschema.exceptions.ValidationError(f"{instance!r} does not match {pattern!r}")


_Draft202012 = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, {"pattern": _pattern}
)


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    validator: jsonschema.Draft202012Validator = _Draft202012(
        load_schema(name), format_checker=jsonschema.FormatChecker()
    )
    return validator


@cache
def _compiled(name: str) -> jsonschema_rs.Validator | None:
    """The same schema compiled by jsonschema-rs, which answers "valid?" a hundred times faster (10 ms
    against 0.1 ms for a capture's metadata). It checks formats jsonschema leaves alone here (date-time,
    uri) and reads patterns as ECMA-262 does: stricter, never laxer, so its "valid" stands. None where it
    cannot take the schema; never fetches anything (``offline``)."""
    try:
        return jsonschema_rs.validator_for(load_schema(name), validate_formats=True, offline=True)
    except Exception:  # an unsupported construct: jsonschema alone, as before
        return None


def schema_problems(name: str, document: Any, *, plain_json: bool = False) -> list[str]:
    """Every way ``document`` fails the schema, as ``path: message`` lines (empty when valid).

    A valid document is recognised by the compiled validator; anything it does not pass goes to
    jsonschema, which names the problems and has the last word. So does any document holding a Python
    value JSON has no word for (a tuple, which jsonschema-rs would take for an array, a set, bytes, a
    non-string key, NaN): there jsonschema's verdict, not the compiled one's, is the rule.
    ``plain_json``: the caller knows ``document`` came from JSON text (json.loads), so the walk that
    checks for such values (most of the cost for a small document) is skipped."""
    compiled = _compiled(name)
    if compiled is not None and (plain_json or _plain_json(document)):
        try:
            if compiled.is_valid(document):
                return []
        except (ValueError, TypeError, OverflowError):
            pass
    validator = _validator(name)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _plain_json(value: Any) -> bool:
    """Whether ``value`` is made only of what json.loads gives: dict (string keys), list, str, int,
    finite float, bool and None."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain_json(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_plain_json(item) for item in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int)


def validate(name: str, document: Any) -> None:
    problems = schema_problems(name, document)
    if problems:
        raise ValidationError(f"does not match the {name} schema: {problems[0]}")
