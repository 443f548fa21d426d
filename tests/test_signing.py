"""Investigator keys, C2SP signed notes and checkpoints, and the checkpoints file."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidencekit.errors import InputFileError, KeyMissingError, OperationalError, UsageError, ValidationError
from evidencekit.keys import (
    DEFAULT_KEY_NAME,
    PublicKey,
    SigningKey,
    config_dir,
    generate_key,
    key_exists,
    keys_dir,
    load_key,
)
from evidencekit.ledger.notes import (
    EM_DASH,
    Checkpoint,
    NoteSignature,
    SignedNote,
    sign_checkpoint,
    sign_note,
)
from evidencekit.ledger.witness import append_note_file, read_notes_file

ROOT = hashlib.sha256(b"root of a test tree").digest()

# Known-answer vector of the Go reference implementation (golang.org/x/mod/sumdb/note documentation).
GO_SEED_B64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  # 0x01 || 32-byte Ed25519 seed
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE_LINE = (
    f"{EM_DASH} PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# The example of the C2SP signed-note specification.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    f"{EM_DASH} example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    return keys_dir({"XDG_CONFIG_HOME": str(tmp_path / "config")})


@pytest.fixture
def key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.generate(), "Jane O'Brien")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def c2sp_key_hash(name: str, raw: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\x0a" + b"\x01" + raw).digest()[:4]


# --- key storage ---------------------------------------------------------------------------------


def test_config_dir_follows_xdg_and_falls_back_to_home(tmp_path: Path) -> None:
    assert config_dir({"XDG_CONFIG_HOME": "/x/conf", "HOME": "/h"}) == Path("/x/conf/evidencekit")
    assert config_dir({"HOME": "/home/jane"}) == Path("/home/jane/.config/evidencekit")
    # The XDG spec says a relative path is invalid and must be ignored.
    assert config_dir({"XDG_CONFIG_HOME": "rel", "HOME": "/h"}) == Path("/h/.config/evidencekit")
    assert keys_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "evidencekit" / "keys"


def test_generate_and_load_round_trip_with_private_file_modes(kdir: Path) -> None:
    assert not key_exists(kdir)
    generated = generate_key(kdir, "  Jane O'Brien ")
    assert key_exists(kdir, DEFAULT_KEY_NAME)
    pem, sidecar = kdir / "default.pem", kdir / "default.json"
    assert mode(kdir) == 0o700
    assert mode(pem) == 0o600
    assert pem.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    assert [p.name for p in kdir.iterdir() if p.name.startswith(".")] == []  # no temp files left

    facts = json.loads(sidecar.read_text())
    raw = base64.b64decode(facts["public_key"])
    assert facts["investigator"] == "Jane O'Brien"
    assert facts["key_id"] == hashlib.sha256(raw).hexdigest()[:16] == generated.public.key_id
    assert facts["note_name"] == f"evidencekit-jane-o-brien-{facts['key_id'][:8]}"
    assert facts["algorithm"] == "ed25519"
    assert facts["created"].endswith("Z")

    loaded = load_key(kdir)
    assert loaded.public == generated.public
    assert loaded.investigator == "Jane O'Brien"
    message = b"signed by the loaded key"
    assert generated.public.verify(message, loaded.sign(message))
    assert "PRIVATE" not in repr(loaded)


def test_several_named_keys_live_side_by_side(kdir: Path) -> None:
    first = generate_key(kdir, "Ana Núñez", name="field-2024")
    second = generate_key(kdir, "Ana Núñez")
    assert first.public.note_name.startswith("evidencekit-ana-nunez-")
    assert load_key(kdir, "field-2024").public == first.public
    assert load_key(kdir).public == second.public != first.public


def test_generate_refuses_to_overwrite_an_existing_key(kdir: Path) -> None:
    generate_key(kdir, "Jane")
    before = (kdir / "default.pem").read_bytes()
    with pytest.raises(UsageError, match="already exists"):
        generate_key(kdir, "Someone Else")
    assert (kdir / "default.pem").read_bytes() == before


def test_an_orphaned_sidecar_also_blocks_generation(kdir: Path) -> None:
    kdir.mkdir(parents=True)
    (kdir / "default.json").write_text("{}")
    with pytest.raises(UsageError, match="already exists"):
        generate_key(kdir, "Jane")
    assert not (kdir / "default.pem").exists()


def test_missing_key_tells_the_user_to_generate_one(kdir: Path) -> None:
    with pytest.raises(KeyMissingError) as caught:
        load_key(kdir)
    assert "evidencekit keys generate" in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("name", ["../escape", "", "a/b", ".hidden", "x" * 65])
def test_key_file_names_cannot_leave_the_keys_folder(kdir: Path, name: str) -> None:
    with pytest.raises(UsageError, match="key name"):
        generate_key(kdir, "Jane", name=name)


@pytest.mark.parametrize("bad_mode", [0o640, 0o604, 0o644])
def test_a_key_open_to_other_users_is_refused(kdir: Path, bad_mode: int) -> None:
    generate_key(kdir, "Jane")
    (kdir / "default.pem").chmod(bad_mode)
    with pytest.raises(UsageError) as caught:
        load_key(kdir)
    assert "chmod 600" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_unparseable_key_file_is_a_one_line_usage_error(kdir: Path) -> None:
    generate_key(kdir, "Jane")
    (kdir / "default.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(UsageError, match="not an unencrypted PKCS#8 PEM private key") as caught:
        load_key(kdir)
    assert "\n" not in str(caught.value)


def test_a_sidecar_for_another_key_is_detected(kdir: Path) -> None:
    generate_key(kdir, "Jane")
    generate_key(kdir, "Jane", name="other")
    os.replace(kdir / "other.json", kdir / "default.json")
    with pytest.raises(UsageError, match="different key"):
        load_key(kdir)


def test_a_damaged_or_missing_sidecar_is_reported(kdir: Path) -> None:
    generate_key(kdir, "Jane")
    (kdir / "default.json").write_text('{"investigator": "Jane"}')
    with pytest.raises(UsageError, match="damaged"):
        load_key(kdir)
    (kdir / "default.json").unlink()
    with pytest.raises(UsageError, match="missing"):
        load_key(kdir)


def test_an_unwritable_keys_folder_is_an_operational_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    with pytest.raises(OperationalError, match="cannot write the key"):
        generate_key(blocker / "keys", "Jane")


# --- public keys and the C2SP key hash -----------------------------------------------------------


def test_note_key_hash_is_the_c2sp_one(key: SigningKey) -> None:
    public = key.public
    assert public.note_key_hash() == c2sp_key_hash(public.note_name, public.raw)
    note = sign_checkpoint(Checkpoint("example.org/log", 1, ROOT), key)
    line = note.text().splitlines()[-1]
    assert line.startswith(f"{EM_DASH} {public.note_name} ")
    decoded = base64.b64decode(line.split(" ")[2])
    assert decoded[:4] == c2sp_key_hash(public.note_name, public.raw)
    assert len(decoded) == 4 + 64


def test_note_names_are_letters_digits_and_dashes() -> None:
    for investigator in ["Jane O'Brien", "Ана Петрова", "  ", "x" * 200, "Dr. Müller+Co"]:
        if not investigator.strip():
            with pytest.raises(UsageError):
                SigningKey(Ed25519PrivateKey.generate(), investigator)
            continue
        name = SigningKey(Ed25519PrivateKey.generate(), investigator).public.note_name
        assert name.replace("-", "").isalnum() and name.isascii(), name
        assert len(name) <= 70


def test_public_key_dict_round_trip_and_validation(key: SigningKey) -> None:
    data = key.public.to_dict()
    assert set(data) == {"algorithm", "note_name", "key_id", "public_key"}
    assert PublicKey.from_dict(data) == key.public
    other = SigningKey(Ed25519PrivateKey.generate(), "Other").public
    bad_cases = [
        {**data, "algorithm": "rsa"},
        {**data, "key_id": other.key_id},
        {**data, "public_key": base64.b64encode(b"\x00" * 31).decode()},
        {**data, "public_key": "not base64!"},
        {**data, "note_name": "has space"},
        {**data, "note_name": "has+plus"},
        {k: v for k, v in data.items() if k != "key_id"},
        {**data, "key_id": 5},
    ]
    for bad in bad_cases:
        with pytest.raises(ValidationError):
            PublicKey.from_dict(bad)


def test_go_reference_vector_is_reproduced_byte_for_byte() -> None:
    seed = base64.b64decode(GO_SEED_B64)[1:]
    go_key = SigningKey(Ed25519PrivateKey.from_private_bytes(seed), "Peter Neumann", note_name="PeterNeumann")
    assert go_key.public.vkey() == GO_VKEY
    assert go_key.public.note_key_hash().hex() == "c74f20a3"
    note = sign_note(GO_TEXT, go_key)
    assert note.text() == GO_TEXT + "\n" + GO_SIGNATURE_LINE
    assert SignedNote.parse(note.text()) == note
    assert note.verify_with(PublicKey.from_vkey(GO_VKEY))


def test_c2sp_specification_example_verifies() -> None:
    spec_key = PublicKey.from_vkey(SPEC_VKEY)
    note = SignedNote.parse(SPEC_NOTE)
    assert note.body == "This is an example message.\n"
    assert note.verify_with(spec_key)
    assert not note.verify_with(PublicKey.from_raw(spec_key.raw, "example.com/bar"))


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong hash
        "PeterNeumann+c74f20a3+AhpC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # not Ed25519
        "PeterNeumann+c74f20a3",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(ValidationError):
        PublicKey.from_vkey(vkey)


# --- signed checkpoints --------------------------------------------------------------------------


def flip_byte(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_signed_checkpoint_verifies_and_every_change_breaks_it(key: SigningKey) -> None:
    checkpoint = Checkpoint("evidencekit/case-1/1b4e28ba", 42, ROOT)
    note = sign_checkpoint(checkpoint, key)
    assert note.body == checkpoint.body()
    assert note.verify_with(key.public)
    assert note.checkpoint() == checkpoint
    # The Ed25519 signature covers exactly the UTF-8 body text.
    assert key.public.verify(note.body.encode("utf-8"), note.signatures[0].signature)

    text = note.text()
    changed_body = text.replace("\n42\n", "\n43\n")
    assert not SignedNote.parse(changed_body).verify_with(key.public)

    sig = note.signatures[0]
    for index in (0, 31, 63):
        forged = NoteSignature(sig.name, sig.key_hash, flip_byte(sig.signature, index))
        assert not SignedNote(note.body, (forged,)).verify_with(key.public)

    renamed = SignedNote.parse(text.replace(f" {sig.name} ", f" {sig.name}x "))
    assert not renamed.verify_with(key.public)
    assert not note.verify_with(PublicKey.from_raw(key.public.raw, sig.name + "x"))

    other = SigningKey(Ed25519PrivateKey.generate(), "Jane O'Brien")
    assert not note.verify_with(other.public)
    same_name_other_key = PublicKey.from_raw(other.public.raw, key.public.note_name)
    assert not note.verify_with(same_name_other_key)


def test_unknown_signatures_are_ignored_but_a_bad_one_from_the_key_rejects(key: SigningKey) -> None:
    note = sign_checkpoint(Checkpoint("example.org/log", 7, ROOT), key)
    stranger = sign_checkpoint(Checkpoint("example.org/log", 7, ROOT), SigningKey(Ed25519PrivateKey.generate(), "B"))
    cosigned = SignedNote(note.body, (stranger.signatures[0], note.signatures[0]))
    assert cosigned.verify_with(key.public)
    assert SignedNote.parse(cosigned.text()) == cosigned
    good = note.signatures[0]
    bad = NoteSignature(good.name, good.key_hash, flip_byte(good.signature, 5))
    assert not SignedNote(note.body, (good, bad)).verify_with(key.public)


def test_checkpoint_round_trip_with_extensions() -> None:
    checkpoint = Checkpoint("evidencekit/c/u", 0, ROOT, ("time 2024-05-01T10:00:00Z", "ext two"))
    body = checkpoint.body()
    root_line = base64.b64encode(ROOT).decode()
    assert body == f"evidencekit/c/u\n0\n{root_line}\ntime 2024-05-01T10:00:00Z\next two\n"
    assert Checkpoint.parse(body) == checkpoint


def test_signed_note_round_trip_keeps_empty_lines_in_the_text(key: SigningKey) -> None:
    note = sign_note("first paragraph\n\nsecond paragraph\n", key)
    text = note.text()
    parsed = SignedNote.parse(text)
    assert parsed == note and parsed.text() == text
    assert parsed.verify_with(key.public)


GOOD_ROOT = base64.b64encode(ROOT).decode()
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Same bytes, but a padding bit set in the last character: decoders accept it, a canonical reader must not.
NONCANONICAL_ROOT = GOOD_ROOT[:-2] + _ALPHABET[_ALPHABET.index(GOOD_ROOT[-2]) ^ 1] + "="


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (f"o\n12a\n{GOOD_ROOT}\n", "tree size"),
        (f"o\n-1\n{GOOD_ROOT}\n", "tree size"),
        (f"o\n012\n{GOOD_ROOT}\n", "tree size"),
        (f"o\n 1\n{GOOD_ROOT}\n", "tree size"),
        (f"o\n{2**63}\n{GOOD_ROOT}\n", "tree size"),
        ("o\n1\n!!notbase64!!\n", "base64"),
        (f"o\n1\n{NONCANONICAL_ROOT}\n", "canonical"),
        (f"o\n1\n{GOOD_ROOT.rstrip('=')}\n", "base64"),
        (f"o\n1\n{base64.b64encode(ROOT[:31]).decode()}\n", "32 bytes"),
        (f"o\n1\n{base64.b64encode(ROOT + b'x').decode()}\n", "32 bytes"),
        ("o\n1\n", "found 2"),
        ("o\n", "found 1"),
        (f"\n1\n{GOOD_ROOT}\n", "line 1 is empty"),
        (f"o\n1\n{GOOD_ROOT}\n\next\n", "line 4 is empty"),
        (f"o\n1\n{GOOD_ROOT}", "newline"),
        (f"o\x07\n1\n{GOOD_ROOT}\n", "forbidden character"),
    ],
)
def test_checkpoint_parse_errors(body: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Checkpoint.parse(body)


def test_checkpoint_constructor_validates() -> None:
    with pytest.raises(ValidationError):
        Checkpoint("", 1, ROOT)
    with pytest.raises(ValidationError):
        Checkpoint("o", -1, ROOT)
    with pytest.raises(ValidationError):
        Checkpoint("o", 1, ROOT[:16])
    with pytest.raises(ValidationError):
        Checkpoint("o", 1, ROOT, ("two\nlines",))


@pytest.mark.parametrize(
    ("mangle", "problem"),
    [
        (lambda t: t.replace("\n\n", "\n"), "empty line"),
        (lambda t: t.rstrip("\n"), "newline"),
        (lambda t: t.replace(EM_DASH, "-"), "not a signature line"),
        (lambda t: t.replace(EM_DASH + " ", EM_DASH + "  "), "not a signature line"),
        (lambda t: t.replace("evidencekit-", "evidence+kit-"), "key name"),
        (lambda t: t[: t.rindex(" ") + 1] + "AAAA\n", "key hash"),
        (lambda t: t[: t.rindex(" ") + 1] + "%%%%\n", "base64"),
        (lambda t: t[: t.rindex("\n", 0, -1)] + "\n\n", "empty line|not a signature line"),
        (lambda t: "o\tx\n" + t, "forbidden character"),
    ],
)
def test_signed_note_parse_errors(key: SigningKey, mangle: Callable[[str], str], problem: str) -> None:
    text = sign_checkpoint(Checkpoint("example.org/log", 3, ROOT), key).text()
    with pytest.raises(ValidationError, match=problem):
        SignedNote.parse(mangle(text))


# --- the checkpoints file ------------------------------------------------------------------------


def three_notes(key: SigningKey) -> list[SignedNote]:
    roots = [hashlib.sha256(bytes([n])).digest() for n in range(3)]
    return [sign_checkpoint(Checkpoint("evidencekit/c/u", n + 1, roots[n]), key) for n in range(3)]


def test_checkpoints_file_round_trip_byte_for_byte(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "checkpoints.txt"
    notes = three_notes(key)
    for note in notes:
        append_note_file(path, note)
    assert path.read_text(encoding="utf-8") == "".join(note.text() + "\n" for note in notes)
    back = read_notes_file(path)
    assert back == notes
    assert [n.text() for n in back] == [n.text() for n in notes]
    assert all(n.verify_with(key.public) for n in back)
    assert [n.checkpoint().size for n in back] == [1, 2, 3]


def test_an_empty_checkpoints_file_has_no_notes(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.txt"
    path.write_bytes(b"")
    assert read_notes_file(path) == []
    with pytest.raises(InputFileError):
        read_notes_file(tmp_path / "absent.txt")


def damage_cases(text: str) -> list[tuple[str, str, int]]:
    """(what, damaged text, line the error must name) for a file of three 6-line notes."""
    lines = text.split("\n")
    sig_line = lines[4]

    def edit(index: int, replacement: list[str]) -> str:
        return "\n".join(lines[:index] + replacement + lines[index + 1 :])

    return [
        ("terminator lost", text[:-1], 17),
        ("cut mid line", text[:-3], 17),
        ("signature garbled", edit(4, [sig_line[:-6] + "*" + sig_line[-5:]]), 5),
        ("extra blank line", edit(6, ["", lines[6]]), 7),
        ("signature missing", edit(4, []), 5),
        ("control character", edit(7, ["1\r"]), 8),
        ("blank line missing", edit(15, []), 17),
    ]


def test_a_damaged_checkpoints_file_names_the_line(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "checkpoints.txt"
    for note in three_notes(key):
        append_note_file(path, note)
    good = path.read_text(encoding="utf-8")
    assert good.count("\n") == 18  # three notes of 3 body lines, 1 blank, 1 signature, 1 terminator
    for label, damaged, line in damage_cases(good):
        path.write_text(damaged, encoding="utf-8")
        with pytest.raises(ValidationError, match=rf"line {line}\b") as caught:
            read_notes_file(path)
        assert str(path) in str(caught.value), label
    path.write_bytes(good.encode() + b"\xff\n")
    with pytest.raises(ValidationError, match="line 19: not valid UTF-8"):
        read_notes_file(path)


def test_append_refuses_a_damaged_file_and_a_body_with_empty_lines(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "checkpoints.txt"
    notes = three_notes(key)
    append_note_file(path, notes[0])
    path.write_bytes(path.read_bytes()[:-1])  # an interrupted append
    with pytest.raises(ValidationError, match="complete note"):
        append_note_file(path, notes[1])
    with pytest.raises(ValidationError, match="empty lines"):
        append_note_file(tmp_path / "other.txt", sign_note("a\n\nb\n", key))
    assert not (tmp_path / "other.txt").exists()


# --- interoperability with OpenSSL ---------------------------------------------------------------


def test_openssl_verifies_a_checkpoint_signature_with_the_exported_pem(tmp_path: Path, kdir: Path) -> None:
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("OpenSSL 3"), version
    key = generate_key(kdir, "Jane")
    note = sign_checkpoint(Checkpoint("evidencekit/case-9/uuid", 1234, ROOT, ("ext",)), key)
    (tmp_path / "pub.pem").write_text(key.public.pem())
    (tmp_path / "body.txt").write_bytes(note.body.encode("utf-8"))
    (tmp_path / "sig.bin").write_bytes(note.signatures[0].signature)
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin"]
    command += ["-in", "body.txt", "-sigfile", "sig.bin"]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "Signature Verified Successfully" in ok.stdout

    (tmp_path / "body.txt").write_bytes(note.body.replace("1234", "1235").encode("utf-8"))
    tampered = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert tampered.returncode != 0
