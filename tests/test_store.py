import hashlib
import os
import stat

import pytest

from evidencekit.errors import InputFileError
from evidencekit.store import ObjectStore


def test_put_file_stores_read_only_by_blake3_and_returns_digests(tmp_path):
    source = tmp_path / "photo.bin"
    source.write_bytes(os.urandom(3_000_000))
    store = ObjectStore(tmp_path / "objects")
    digests = store.put_file(source)
    stored = store.path_for(digests.blake3)
    assert stored == tmp_path / "objects" / digests.blake3[:2] / digests.blake3
    assert stored.read_bytes() == source.read_bytes()
    assert digests.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o444
    assert store.check(digests) is None
    assert not [p for p in (tmp_path / "objects").iterdir() if p.name.startswith(".")], "temp files left behind"


def test_identical_content_is_stored_once_and_never_replaced(tmp_path):
    store = ObjectStore(tmp_path / "objects")
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    first = store.put_file(a)
    inode = store.path_for(first.blake3).stat().st_ino
    second = store.put_file(b)
    assert first == second
    assert store.path_for(first.blake3).stat().st_ino == inode
    assert len(list((tmp_path / "objects").rglob("*"))) == 2  # one folder, one object


def test_check_reports_altered_and_missing_objects(tmp_path):
    store = ObjectStore(tmp_path / "objects")
    src = tmp_path / "f"
    src.write_bytes(b"evidence")
    digests = store.put_file(src)
    path = store.path_for(digests.blake3)
    path.chmod(0o644)
    path.write_bytes(b"evidencE")
    problem = store.check(digests)
    assert problem is not None and problem.code == "object.altered" and digests.blake3 in (problem.path or "")
    path.unlink()
    problem = store.check(digests)
    assert problem is not None and problem.code == "object.missing"


def test_put_file_refuses_missing_file_and_folder(tmp_path):
    store = ObjectStore(tmp_path / "objects")
    with pytest.raises(InputFileError, match="no such file"):
        store.put_file(tmp_path / "nope")
    with pytest.raises(InputFileError, match="folder"):
        store.put_file(tmp_path)


def test_read_verified_detects_change(tmp_path):
    store = ObjectStore(tmp_path / "objects")
    digests = store.put_stream(__import__("io").BytesIO(b"abc"))
    assert store.read_verified(digests) == b"abc"
    path = store.path_for(digests.blake3)
    path.chmod(0o644)
    path.write_bytes(b"abd")
    with pytest.raises(Exception, match="differs"):
        store.read_verified(digests)
