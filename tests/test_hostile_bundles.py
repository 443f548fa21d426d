"""Hostile bundles are refused whole: one line, exit 3, nothing written outside a private temp folder."""

import glob
import json
import os
import shutil
import tempfile
import zipfile

import pytest
from casekit import run_cli, run_subprocess

from evidencekit.bundle.check.safezip import HostileBundleError, ZipLimits, extract_safely
from evidencekit.errors import OperationalError


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


def test_zip_bomb_of_many_entries_of_one_mebibyte(tmp_path):
    """Each entry exactly at the old per-entry floor (1 MiB of zeros): the floor no longer shelters it."""
    path = tmp_path / "many-bombs.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _bag_entries(zf)
        for index in range(200):
            zf.writestr(f"bag/data/zeros-{index}.bin", b"\0" * (1024 * 1024))
    assert path.stat().st_size < 300_000
    _refused(path, "zip bomb")


def test_zip_bomb_spread_over_entries_each_under_the_entry_ratio(tmp_path):
    path = tmp_path / "thin-bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _bag_entries(zf)
        for index in range(20):
            zf.writestr(f"bag/data/part-{index}.bin", os.urandom(5000) + b"\0" * (1024 * 1024 - 5000))
        ratios = {i.file_size // i.compress_size for i in zf.infolist() if i.filename.endswith(".bin")}
    assert max(ratios) < ZipLimits().max_ratio, "each entry alone passes"
    _refused(path, "in all", "zip bomb")


def test_declared_size_beyond_the_free_disk_space(tmp_path):
    path = tmp_path / "huge.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for index in range(300):
            zf.writestr(f"bag/data/part-{index:03}.bin", b"x")
    raw = bytearray(path.read_bytes())
    declared = 0
    start = 0
    while (start := raw.find(b"PK\x01\x02", start)) >= 0:
        # Central directory record: compressed size at offset 20, uncompressed size at 24.
        raw[start + 20 : start + 28] = (0xFFFF_FFF0).to_bytes(4, "little") * 2
        declared += 0xFFFF_FFF0
        start += 4
    path.write_bytes(bytes(raw))
    dest = tmp_path / "out"
    dest.mkdir()
    if shutil.disk_usage(dest).free >= declared:
        pytest.skip("this disk has more free space than the zip declares")
    permissive = ZipLimits(max_total_bytes=2**62, max_ratio=2**40, max_total_ratio=2**40)
    with pytest.raises(OperationalError, match="free"):
        extract_safely(path, dest, permissive)
    assert list(dest.iterdir()) == []


def test_dot_path_component(tmp_path):
    path = tmp_path / "dot.zip"
    with zipfile.ZipFile(path, "w") as zf:
        _bag_entries(zf)
        zf.writestr("bag/./data/evil.txt", "a second spelling of a path")
    _refused(path, "'.'")


@pytest.mark.parametrize(
    "names",
    [
        ("bag/data/evil", "bag/data/evil/inner.txt"),
        ("bag/data/evil/inner.txt", "bag/data/evil"),
        ("bag/data/EVIL", "bag/data/evil/inner.txt"),
        ("bag/data/evil/", "bag/data/evil"),
    ],
)
def test_one_name_as_file_and_folder(tmp_path, names):
    path = tmp_path / "clash.zip"
    with zipfile.ZipFile(path, "w") as zf:
        _bag_entries(zf)
        for name in names:
            zf.writestr(name, "" if name.endswith("/") else "x")
    line = _refused(path)
    assert "both a file and a folder" in line or "more than once" in line


def test_name_the_file_system_cannot_hold(tmp_path):
    path = tmp_path / "long-name.zip"
    with zipfile.ZipFile(path, "w") as zf:
        _bag_entries(zf)
        zf.writestr("bag/data/evil" + "x" * 300, "a name longer than any file system allows")
    line = _refused(path, "cannot be unpacked safely")
    assert "operating system error" not in line


def test_folder_bundle_with_a_fifo_is_refused_not_read(tmp_path):
    bag = tmp_path / "bag"
    (bag / "data").mkdir(parents=True)
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    os.mkfifo(bag / "data" / "evil-fifo")
    proc = run_subprocess(["verify", str(bag)], timeout=60)  # reading the FIFO would block for ever
    assert proc.returncode == 3, proc.stderr
    assert "special file" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("data/custody/proofs.json", "proofs.malformed"),
        ("data/custody/keys/0123456789abcdef.json", "key.malformed"),
        ("data/custody/ledger.jsonl", "entry.malformed"),
    ],
)
def test_deeply_nested_json(tmp_path, name, code):
    bag = tmp_path / "bag"
    (bag / name).parent.mkdir(parents=True)
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    (bag / name).write_text("[" * 60_000 + "\n")
    result = run_cli(["verify", str(bag), "--json"])
    assert result.exit_code == 3, result.stderr
    problems = json.loads(result.stdout)["problems"]
    assert any(p["code"] == code for p in problems), problems
