"""The shipped JSON Schemas are themselves valid 2020-12 schemas (checked here, not at every start-up)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from evidencekit.errors import ValidationError
from evidencekit.schemas import load_schema, schema_dir, schema_problems

SCHEMA_FILES = sorted(schema_dir().glob("*.schema.json"))


def test_the_three_schemas_ship() -> None:
    assert {path.name for path in SCHEMA_FILES} >= {
        "capture.schema.json",
        "case.schema.json",
        "ledger-entry.schema.json",
    }


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.name)
def test_schema_is_valid_against_the_2020_12_meta_schema(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"].startswith("https://evidencekit.org/schemas/")
    assert load_schema(path.name.removesuffix(".schema.json")) == schema


def test_an_unknown_schema_name_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="no schema named 'nonesuch'"):
        load_schema("nonesuch")


def test_problems_name_the_path_and_repeat_validation_gives_the_same_answer() -> None:
    bad = {"seq": -1}
    first = schema_problems("ledger-entry", bad)
    assert first == schema_problems("ledger-entry", bad)
    assert "seq: -1 is less than the minimum of 0" in first
    assert "(root): 'prev' is a required property" in first


def test_capture_metadata_of_version_1_0_0_stays_valid_and_steps_need_1_1_0() -> None:
    from evidencekit.capture.metadata import SCHEMA_ID

    example = json.loads((Path(__file__).parent / "data" / "capture-metadata-example.json").read_text("utf-8"))
    assert example["schema"] == SCHEMA_ID and example["times"]["steps"]
    assert schema_problems("capture", example) == []
    older = {**example, "schema": "https://evidencekit.org/schemas/capture/1.0.0"}
    assert schema_problems("capture", older) != []  # 1.0.0 had no steps
    older["times"] = {key: value for key, value in example["times"].items() if key != "steps"}
    older["page"] = {**example["page"], "screenshot": _without(example["page"]["screenshot"], "scroll_y")}
    assert schema_problems("capture", older) == []


def test_capture_metadata_of_version_1_1_0_without_scroll_y_stays_valid() -> None:
    example = json.loads((Path(__file__).parent / "data" / "capture-metadata-example.json").read_text("utf-8"))
    assert example["page"]["screenshot"]["scroll_y"] == 0
    older = {**example, "schema": "https://evidencekit.org/schemas/capture/1.1.0"}
    older["page"] = {**example["page"], "screenshot": _without(example["page"]["screenshot"], "scroll_y")}
    assert schema_problems("capture", older) == []
    negative = {**example, "page": {**example["page"], "screenshot": {**example["page"]["screenshot"], "scroll_y": -1}}}
    assert any("scroll_y" in problem for problem in schema_problems("capture", negative))


def _without(record: dict[str, object], key: str) -> dict[str, object]:
    return {name: value for name, value in record.items() if name != key}


# --- the compiled fast path (jsonschema-rs) --------------------------------------------------------------


@pytest.mark.parametrize("name", ["capture", "case", "ledger-entry"])
def test_every_shipped_schema_compiles_for_the_fast_path(name: str) -> None:
    from evidencekit.schemas import _compiled

    assert _compiled(name) is not None


def _mutations(value: object, path: tuple[object, ...] = ()) -> list[tuple[tuple[object, ...], object]]:
    """(path, replacement) pairs: every member removed, and every value swapped for one of another type."""
    out: list[tuple[tuple[object, ...], object]] = []
    wrong: object = {"str": 7, "int": "7", "float": "7.5", "bool": "yes", "list": {}, "dict": [], "NoneType": 0}
    assert isinstance(wrong, dict)
    if path:
        out.append((path, wrong[type(value).__name__]))
    if isinstance(value, dict):
        for key, inner in value.items():
            out.append(((*path, key), _REMOVE))
            out.extend(_mutations(inner, (*path, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:3]):
            out.extend(_mutations(inner, (*path, index)))
    return out


_REMOVE = object()


def _applied(document: object, path: tuple[object, ...], replacement: object) -> object:
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]  # type: ignore[index]
    if replacement is _REMOVE:
        del target[path[-1]]  # type: ignore[attr-defined]
    else:
        target[path[-1]] = replacement  # type: ignore[index]
    return copy


def test_the_fast_path_never_passes_what_jsonschema_rejects() -> None:
    """Its "valid" is taken without asking jsonschema, so on every variant of a real capture's metadata
    that jsonschema rejects (a member missing, a value of the wrong type), it must say "invalid" too."""
    from evidencekit.schemas import _compiled, _validator

    example = json.loads((Path(__file__).parent / "data" / "capture-metadata-example.json").read_text("utf-8"))
    compiled, reference = _compiled("capture"), _validator("capture")
    assert compiled is not None and compiled.is_valid(example)
    rejected = 0
    for path, replacement in _mutations(example):
        variant = _applied(example, path, replacement)
        if next(reference.iter_errors(variant), None) is not None:
            rejected += 1
            assert not compiled.is_valid(variant), path
    assert rejected > 200  # the walk reached deep into the document


def test_a_value_json_cannot_hold_still_gets_jsonschemas_words() -> None:
    assert schema_problems("ledger-entry", {"seq": b"\x00"}) != []


def test_a_tuple_where_an_array_belongs_is_judged_by_jsonschema() -> None:
    """jsonschema-rs reads a tuple as an array; jsonschema does not. Such a document is not plain JSON,
    so it gets jsonschema's verdict, as it did before the fast path."""
    from evidencekit.schemas import _compiled

    example = json.loads((Path(__file__).parent / "data" / "capture-metadata-example.json").read_text("utf-8"))
    example["page"] = {**example["page"], "frames": tuple(example["page"]["frames"])}
    compiled = _compiled("capture")
    assert compiled is not None and compiled.is_valid(example)  # the compiled validator alone would pass it
    assert schema_problems("capture", example) != []
