"""Hostile bundles are refused whole: one line, exit 3, nothing written outside a private temp folder."""

import glob
import os
import tempfile
import zipfile

import pytest
from casekit import run_cli, run_subprocess

from evidencekit.bundle.safezip import HostileBundleError, ZipLimits, extract_safely


def _leftovers():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "evidencekit-verify-*")))


def _bag_entries(zf, top="bag"):
    zf.writestr(f"{top}/bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    zf.writestr(f"{top}/data/hello.txt", "hello")


def _refused(path, *fragments):
    before = _leftovers()
    result = run_cli(["verify", str(path)])
    assert result.exit_code == 3, (result.stdout, result.stderr)
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    for fragment in fragments:
        assert fragment in line, line
    assert _leftovers() == before, "the private extraction folder was left behind"
    assert not glob.glob(os.path.join(os.path.dirname(path), "**", "evil*"), recursive=True)
    return line


def test_dot_dot_entry(tmp_path):
    path = tmp_path / "dotdot.zip"
    with zipfile.ZipFile(path, "w") as zf:
        _bag_entries(zf)
        zf.writestr("bag/../../evil.txt", "pwned")
    _refused(path, "..")


def test_absolute_path_entry(tmp_path):
    path = tmp_path / "absolute.zip"
    with zipfile.ZipFile(path, "w") as zf:
        _bag_entries(zf)
        zf.writestr(zipfile.ZipInfo(str(tmp_path / "evil-abs.txt")), "pwned")
    _refused(path, "absolute")
    assert not (tmp_path / "evil-abs.txt").exists()


def test_symlink_entry(tmp_path):
    path = tmp_path / "symlink.zip"
    with zipfile.ZipFile(path, "w") as zf:
        _bag_entries(zf)
        info = zipfile.ZipInfo("bag/data/evil-link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    _refused(path, "symbolic link")


def test_duplicate_names(tmp_path):
    path = tmp_path / "duplicate.zip"
    with pytest.warns(UserWarning), zipfile.ZipFile(path, "w") as zf:
        _bag_entries(zf)
        zf.writestr("bag/data/hello.txt", "another hello")
    _refused(path, "more than once")


def test_names_differing_only_in_case(tmp_path):
    path = tmp_path / "case-dupe.zip"
    with zipfile.ZipFile(path, "w") as zf:
        _bag_entries(zf)
        zf.writestr("bag/data/HELLO.txt", "shadow")
    _refused(path, "more than once")


def test_name_that_is_not_utf8(tmp_path):
    path = tmp_path / "not-utf8.zip"
    with zipfile.ZipFile(path, "w") as zf:
        _bag_entries(zf)
        zf.writestr("bag/data/cafeX.txt", "latin-1 name")
    raw = path.read_bytes().replace(b"cafeX.txt", b"caf\xe9\xff.txt"[:9].ljust(9, b"t"))
    path.write_bytes(raw)
    _refused(path, "not UTF-8")


def test_zip_bomb_by_ratio(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _bag_entries(zf)
        zf.writestr("bag/data/zeros.bin", b"\0" * (40 * 1024 * 1024))
    assert path.stat().st_size < 200_000
    _refused(path, "zip bomb")


def test_total_size_limit_is_enforced_while_writing(tmp_path):
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("bag/data/a.bin", os.urandom(300_000))
        zf.writestr("bag/data/b.bin", os.urandom(300_000))
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(HostileBundleError, match="more than"):
        extract_safely(path, dest, ZipLimits(max_total_bytes=500_000))
    assert list(dest.iterdir()) == []


def test_entry_larger_than_it_declares(tmp_path):
    path = tmp_path / "liar.zip"
    payload = os.urandom(4096)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("bag/data/liar.bin", payload)
    raw = bytearray(path.read_bytes())
    # Central directory: uncompressed size at offset 24 of the record starting with PK\x01\x02.
    central = raw.rindex(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    _refused(path)


def test_not_a_zip_at_all(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"this is a text file pretending to be a bundle\n" * 10)
    _refused(path, "not a readable zip")


def test_folder_bundle_with_a_symlink(tmp_path):
    bag = tmp_path / "bag"
    (bag / "data").mkdir(parents=True)
    (bag / "data" / "evil-link").symlink_to("/etc/passwd")
    result = run_cli(["verify", str(bag)])
    assert result.exit_code == 3 and "symbolic link" in result.stderr


def test_hostile_zip_through_a_real_process(tmp_path):
    path = tmp_path / "dotdot.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("../evil.txt", "pwned")
    proc = run_subprocess(["verify", str(path), "--json"], cwd=tmp_path)
    assert proc.returncode == 3
    assert proc.stdout == "" and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path.parent / "evil.txt").exists()
