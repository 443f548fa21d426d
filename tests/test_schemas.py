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
