import json

import pytest

from evidencekit.errors import ValidationError
from evidencekit.hashing import hash_bytes
from evidencekit.models import Actor, Artefact, CaseInfo, EntryDraft, LedgerEntry, canonical_json, parse_canonical


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_unicode():
    value = {"b": 1, "a": {"z": [1, 2], "y": "नौकरी وظيفة 工作"}}
    assert canonical_json(value) == '{"a":{"y":"नौकरी وظيفة 工作","z":[1,2]},"b":1}'.encode()


def test_canonical_json_refuses_fractional_numbers_with_path():
    with pytest.raises(ValidationError, match=r"\$\.gps\.lat"):
        canonical_json({"gps": {"lat": 52.5}})


def test_parse_canonical_refuses_non_canonical_bytes():
    assert parse_canonical(b'{"a":1,"b":2}') == {"a": 1, "b": 2}
    for bad in (b'{"b":2,"a":1}', b'{"a": 1}', b'{"a":"\\u00e9"}', b"[1]", b"\xff"):
        with pytest.raises(ValidationError):
            parse_canonical(bad)


def _entry(**changes: object) -> LedgerEntry:
    fields: dict[str, object] = {
        "seq": 3,
        "time": "2026-11-27T10:00:00.123456Z",
        "tz": "CET UTC+01:00",
        "actor": Actor("Ana Lima", "0123456789abcdef"),
        "action": "file.added",
        "case_id": "TRAF-1",
        "subject": "file-0001",
        "artefacts": (Artefact("photo.jpg", "file", "image/jpeg", hash_bytes(b"x")),),
        "details": {"original_name": "photo.jpg"},
        "prev": "blake3:" + "0" * 64,
    }
    fields.update(changes)
    return LedgerEntry(**fields)  # type: ignore[arg-type]


def test_entry_round_trips_through_raw_bytes():
    entry = _entry()
    assert LedgerEntry.from_raw(entry.raw) == entry
    assert json.loads(entry.raw)["artefacts"][0]["sha256"].startswith("sha256:")


@pytest.mark.parametrize(
    "changes",
    [{"time": "2026-11-27T10:00:00Z"}, {"action": "File.Deleted"}, {"seq": -1}],
)
def test_entry_validation(changes):
    with pytest.raises(ValidationError):
        _entry(**changes)


def test_artefact_names_are_restricted():
    digests = hash_bytes(b"")
    for bad in ("../x", "a b", "", "/abs", "x/../y"):
        with pytest.raises(ValidationError):
            Artefact(bad, "file", "text/plain", digests)


def test_case_info_validation():
    with pytest.raises(ValidationError, match="case id"):
        CaseInfo("bad id", "u", "t", "i", None, "2026-11-27T10:00:00.000000Z")
    with pytest.raises(ValidationError, match="title"):
        CaseInfo("ok", "u", " ", "i", None, "2026-11-27T10:00:00.000000Z")


def test_entry_draft_refuses_unknown_action_and_floats():
    with pytest.raises(ValidationError):
        EntryDraft("case.closed", Actor("a"))
    with pytest.raises(ValidationError):
        EntryDraft("note.added", Actor("a"), details={"x": 0.5})
