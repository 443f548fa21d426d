"""WACZ packages of a capture's WARC: standard validators accept them, the index points at the right records,
builds are reproducible, and check_wacz names every kind of damage without ever raising."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from evidencekit.bundle.wacz import WaczPage, build_wacz, check_wacz, surt_key
from evidencekit.errors import InputFileError, UsageError, ValidationError

BASE = "http://127.0.0.1:8765"
CREATED = "2024-05-01T12:00:09.654321Z"
PAGE = WaczPage(url=f"{BASE}/", title="Room for rent", ts="2024-05-01T12:00:00.123456Z")
WARC_NAME = "archive/data.warc.gz"
HTML = b"<!doctype html><html><head><title>Room for rent</title><link rel=stylesheet href=style.css></head><body><img src=photo.jpg></body></html>"
CSS = b"body { font-family: sans-serif; }\n" * 20


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


# (method, path, status line, response headers, response body, request body)
EXCHANGES = [
    (
        "GET",
        "/",
        "200 OK",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(HTML)))],
        HTML,
        b"",
    ),
    ("GET", "/photo.jpg", "200 OK", [("Content-Type", "image/jpeg")], _jpeg(), b""),
    (
        "GET",
        "/style.css",
        "200 OK",
        # As the capture module writes a body the browser decoded: the server's values kept under X-Original-*.
        [
            ("Content-Type", "text/css"),
            ("X-Original-Content-Encoding", "gzip"),
            ("X-Original-Content-Length", str(len(gzip.compress(CSS)))),
            ("Content-Length", str(len(CSS))),
            ("X-EvidenceKit-Body", "decoded by the browser (server sent Content-Encoding gzip)"),
        ],
        CSS,
        b"",
    ),
    ("POST", "/api/search?q=room", "200 OK", [("Content-Type", "application/json")], b'{"hits": 1}', b"q=room&city=x"),
    ("GET", "/missing.png", "404 Not Found", [("Content-Type", "text/plain")], b"not found", b""),
]


def write_capture_warc(path: Path, *, compress: bool = True) -> Path:
    """A WARC shaped like the capture module's: warcinfo, then per exchange a response and its request."""
    with path.open("xb") as stream:
        writer = WARCWriter(stream, gzip=compress, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "evidencekit test"}))
        for number, (method, target, status, headers, body, request_body) in enumerate(EXCHANGES):
            date = f"2024-05-01T12:00:0{number}.{number:06d}Z"
            http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
            response = writer.create_warc_record(
                BASE + target,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=http,
                warc_headers_dict={"WARC-Date": date, "WARC-IP-Address": "127.0.0.1"},
            )
            response.rec_headers.add_header("WARC-Protocol", "http/1.1")
            writer.write_record(response)
            request_headers = StatusAndHeaders(
                f"{method} {target} HTTP/1.1", [("Host", "127.0.0.1:8765")], is_http_request=True
            )
            response_id = response.rec_headers.get_header("WARC-Record-ID")
            writer.write_record(
                writer.create_warc_record(
                    BASE + target,
                    "request",
                    payload=io.BytesIO(request_body),
                    length=len(request_body),
                    http_headers=request_headers,
                    warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id},
                )
            )
    return path


def make_wacz(warc: Path, out: Path) -> Path:
    build_wacz(
        warc,
        out,
        pages=[PAGE],
        title="Case 7 item cap-0001",
        description="Capture of a rental advert, exported by evidencekit.",
        software="evidencekit 0.1.0",
        created=CREATED,
    )
    return out


@pytest.fixture
def warc(tmp_path: Path) -> Path:
    return write_capture_warc(tmp_path / "capture.warc.gz")


@pytest.fixture
def wacz(tmp_path: Path, warc: Path) -> Path:
    return make_wacz(warc, tmp_path / "capture.wacz")


def wacz_cli() -> str:
    found = Path(sys.executable).with_name("wacz")
    if found.exists():
        return str(found)
    on_path = shutil.which("wacz")
    if on_path is None:
        pytest.fail("the wacz validator is missing: install the dev dependencies (pip install -e '.[dev]')")
    return on_path


def index_entries(path: Path) -> list[tuple[str, str, dict[str, str]]]:
    with zipfile.ZipFile(path) as zf:
        lines = zf.read("indexes/index.cdxj").decode().splitlines()
    return [(key, ts, json.loads(rest)) for key, ts, rest in (line.split(" ", 2) for line in lines)]


def rezip(
    source: Path, target: Path, *, replace: dict[str, bytes | None] | None = None, add: dict[str, bytes] | None = None
) -> Path:
    """Copy a zip entry by entry, replacing (or with None dropping) some and adding others; CRCs stay valid."""
    replace = replace or {}
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = replace.get(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info, data)
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return target


def entry_data_offset(path: Path, name: str) -> int:
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    header = path.read_bytes()[info.header_offset : info.header_offset + 30]
    name_length = int.from_bytes(header[26:28], "little")
    extra_length = int.from_bytes(header[28:30], "little")
    return info.header_offset + 30 + name_length + extra_length


# --- what a standard tool and a player need ---------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False], ids=["warc.gz", "warc"])
def test_wacz_validate_accepts_the_package(tmp_path: Path, compress: bool) -> None:
    warc = write_capture_warc(tmp_path / ("capture.warc.gz" if compress else "capture.warc"), compress=compress)
    package = make_wacz(warc, tmp_path / "capture.wacz")
    result = subprocess.run([wacz_cli(), "validate", "-f", str(package)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout


def test_layout_is_the_wacz_layout_with_every_entry_stored(wacz: Path) -> None:
    with zipfile.ZipFile(wacz) as zf:
        names = [info.filename for info in zf.infolist()]
        assert names == sorted(names)
        assert names == [
            WARC_NAME,
            "datapackage-digest.json",
            "datapackage.json",
            "indexes/index.cdxj",
            "pages/pages.jsonl",
        ]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())


@pytest.mark.parametrize("compress", [True, False], ids=["warc.gz", "warc"])
def test_the_warc_inside_is_byte_identical_to_the_capture(tmp_path: Path, compress: bool) -> None:
    warc = write_capture_warc(tmp_path / "capture.warc", compress=compress)
    package = make_wacz(warc, tmp_path / "capture.wacz")
    name = WARC_NAME if compress else "archive/data.warc"
    with zipfile.ZipFile(package) as zf:
        assert zf.read(name) == warc.read_bytes()
    # Stored, not deflated: the evidence bytes sit in the zip file as they are, readable by offset.
    assert warc.read_bytes() in package.read_bytes()


def test_datapackage_lists_every_entry_with_its_sha256_and_size(wacz: Path) -> None:
    with zipfile.ZipFile(wacz) as zf:
        package_bytes = zf.read("datapackage.json")
        package = json.loads(package_bytes)
        digest = json.loads(zf.read("datapackage-digest.json"))
        assert package["profile"] == "data-package"
        assert package["wacz_version"] == "1.1.1"
        assert package["created"] == CREATED
        assert package["software"] == "evidencekit 0.1.0"
        assert (package["mainPageUrl"], package["mainPageDate"]) == (PAGE.url, PAGE.ts)
        listed = {r["path"]: r for r in package["resources"]}
        assert set(listed) == {WARC_NAME, "indexes/index.cdxj", "pages/pages.jsonl"}
        for path, resource in listed.items():
            data = zf.read(path)
            assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert resource["bytes"] == len(data)
            assert resource["name"] == path.rsplit("/", 1)[1]
    assert digest == {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()}


def test_pages_list_has_the_header_and_the_page(wacz: Path) -> None:
    with zipfile.ZipFile(wacz) as zf:
        lines = [json.loads(line) for line in zf.read("pages/pages.jsonl").splitlines()]
    assert lines[0] == {"format": "json-pages-1.0", "id": "pages", "title": "Case 7 item cap-0001"}
    assert len(lines) == 2
    assert {k: lines[1][k] for k in ("url", "ts", "title")} == {"url": PAGE.url, "ts": PAGE.ts, "title": PAGE.title}
    assert lines[1]["id"]


@pytest.mark.parametrize("compress", [True, False], ids=["warc.gz", "warc"])
def test_index_offsets_point_at_the_right_records(tmp_path: Path, compress: bool) -> None:
    warc = write_capture_warc(tmp_path / "capture.warc", compress=compress)
    package = make_wacz(warc, tmp_path / "capture.wacz")
    entries = index_entries(package)
    assert [key for key, _, _ in entries] == sorted(key for key, _, _ in entries)
    assert {e["url"] for _, _, e in entries} == {BASE + target for _, target, *_ in EXCHANGES}
    warc_bytes = warc.read_bytes()
    for key, timestamp, entry in entries:
        assert entry["filename"] == ("data.warc.gz" if compress else "data.warc")
        assert len(timestamp) == 14 and timestamp.startswith("20240501120")
        assert key == surt_key(entry["url"])
        start, length = int(entry["offset"]), int(entry["length"])
        records = list(ArchiveIterator(io.BytesIO(warc_bytes[start : start + length])))
        assert len(records) == 1, "the slice must hold exactly one whole record"
        record = records[0]
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Target-URI") == entry["url"]
        assert record.rec_headers.get_header("WARC-Payload-Digest") == entry["digest"]
    by_url = {e["url"]: e for _, _, e in entries}
    assert by_url[f"{BASE}/photo.jpg"]["mime"] == "image/jpeg"
    assert by_url[f"{BASE}/"]["mime"] == "text/html"
    assert by_url[f"{BASE}/missing.png"]["status"] == "404"
    assert by_url[f"{BASE}/api/search?q=room"]["method"] == "POST"
    assert "method" not in by_url[f"{BASE}/"]


def test_index_agrees_with_warcio_index(warc: Path, wacz: Path) -> None:
    warcio = Path(sys.executable).with_name("warcio")
    result = subprocess.run(
        [str(warcio), "index", "-f", "warc-type,warc-target-uri,offset,length", str(warc)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    theirs = {
        (r["warc-target-uri"], int(r["offset"]), int(r["length"]))
        for r in map(json.loads, result.stdout.splitlines())
        if r["warc-type"] == "response"
    }
    ours = {(e["url"], int(e["offset"]), int(e["length"])) for _, _, e in index_entries(wacz)}
    assert ours == theirs
    assert len(ours) == len(EXCHANGES)


def test_two_builds_are_byte_identical(tmp_path: Path, warc: Path) -> None:
    first = make_wacz(warc, tmp_path / "first.wacz")
    second = make_wacz(warc, tmp_path / "second.wacz")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        assert {info.date_time for info in zf.infolist()} == {(2024, 5, 1, 12, 0, 8)}  # zip keeps even seconds


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://www.archive.org/", "org,archive)/"),
        ("http://archive.org/goo/", "org,archive)/goo"),
        ("http://archive.org/goo/?", "org,archive)/goo"),
        ("http://archive.org/goo/?b&a", "org,archive)/goo?a&b"),
        ("http://archive.org/goo/?a=2&b&a=1", "org,archive)/goo?a=1&a=2&b"),
        ("http://192.168.1.254/info/", "254,1,168,192)/info"),
        ("https://Example.COM:443/A", "com,example)/a"),
        ("http://example.com:8080/x#frag", "com,example:8080)/x"),
        ("dns:archive.org", "dns:archive.org"),
        ("http://example.com/a b", "com,example)/a%20b"),
    ],
)
def test_surt_keys(url: str, key: str) -> None:
    assert surt_key(url) == key


# --- refusing bad input when building -----------------------------------------------------------------------


def test_build_refuses_to_overwrite(warc: Path, wacz: Path) -> None:
    before = wacz.read_bytes()
    with pytest.raises(UsageError, match="already exists"):
        make_wacz(warc, wacz)
    assert wacz.read_bytes() == before


def test_build_refuses_a_missing_or_unreadable_warc(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no WARC file"):
        make_wacz(tmp_path / "absent.warc.gz", tmp_path / "a.wacz")
    garbage = tmp_path / "garbage.warc"
    garbage.write_bytes(b"this is not a WARC at all\r\n\r\n" * 10)
    with pytest.raises(InputFileError, match=r"garbage\.warc is not a WARC"):
        make_wacz(garbage, tmp_path / "b.wacz")
    assert not (tmp_path / "b.wacz").exists()
    broken_gzip = tmp_path / "broken.warc.gz"
    broken_gzip.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 200)
    with pytest.raises(InputFileError, match=r"broken\.warc\.gz is not a readable WARC"):
        make_wacz(broken_gzip, tmp_path / "c.wacz")
    empty = tmp_path / "empty.warc"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match="holds no WARC records"):
        make_wacz(empty, tmp_path / "d.wacz")
    assert not (tmp_path / "c.wacz").exists() and not (tmp_path / "d.wacz").exists()


@pytest.mark.parametrize(
    "created", ["2024-05-01 12:00:00", "2024-05-01T12:00:00+02:00", "1970-01-01T00:00:00Z", "2024-02-30T00:00:00Z"]
)
def test_build_refuses_a_bad_creation_time(tmp_path: Path, warc: Path, created: str) -> None:
    with pytest.raises(ValidationError):
        build_wacz(warc, tmp_path / "x.wacz", pages=[PAGE], title="t", description="d", software="s", created=created)
    assert not (tmp_path / "x.wacz").exists()


def test_a_page_needs_a_utc_time_and_a_one_line_url() -> None:
    with pytest.raises(ValidationError):
        WaczPage(url=f"{BASE}/", title=None, ts="yesterday")
    with pytest.raises(ValidationError):
        WaczPage(url=f"{BASE}/\r\nX-Injected: 1", title=None, ts=PAGE.ts)


# --- check_wacz -----------------------------------------------------------------------------------------------


def test_check_finds_nothing_wrong_with_a_fresh_package(wacz: Path) -> None:
    assert check_wacz(wacz) == []


def assert_named(problems: list[str], *fragments: str) -> None:
    assert problems, "the damage went unnoticed"
    for fragment in fragments:
        assert any(fragment in problem for problem in problems), (fragment, problems)


def test_check_names_a_byte_flipped_in_the_warc(tmp_path: Path, wacz: Path) -> None:
    data = bytearray(wacz.read_bytes())
    data[entry_data_offset(wacz, WARC_NAME) + 700] ^= 0x01
    flipped = tmp_path / "warc_byte_flipped.wacz"
    flipped.write_bytes(bytes(data))
    assert_named(check_wacz(flipped), WARC_NAME)


def test_check_names_a_changed_warc_even_with_a_fixed_up_crc(tmp_path: Path, wacz: Path) -> None:
    with zipfile.ZipFile(wacz) as zf:
        warc = bytearray(zf.read(WARC_NAME))
    warc[700] ^= 0x01
    tampered = rezip(wacz, tmp_path / "warc_changed_crc_valid.wacz", replace={WARC_NAME: bytes(warc)})
    assert_named(check_wacz(tampered), f"{WARC_NAME}: its digest is sha256:")


def test_check_names_an_edited_datapackage(tmp_path: Path, wacz: Path) -> None:
    with zipfile.ZipFile(wacz) as zf:
        package = json.loads(zf.read("datapackage.json"))
    package["title"] = "Something else"
    edited = rezip(
        wacz, tmp_path / "datapackage_edited.wacz", replace={"datapackage.json": json.dumps(package).encode()}
    )
    assert_named(check_wacz(edited), "datapackage.json: its digest is", "datapackage-digest.json records")


def test_check_names_an_edited_datapackage_digest(tmp_path: Path, wacz: Path) -> None:
    forged = json.dumps({"path": "datapackage.json", "hash": "sha256:" + "0" * 64}).encode()
    edited = rezip(wacz, tmp_path / "digest_edited.wacz", replace={"datapackage-digest.json": forged})
    assert_named(check_wacz(edited), "datapackage.json: its digest is", "sha256:" + "0" * 64)


def test_check_names_a_resource_hash_changed_in_the_datapackage(tmp_path: Path, wacz: Path) -> None:
    # A forger who also rewrites the digest file still cannot make the listed hash fit the WARC.
    with zipfile.ZipFile(wacz) as zf:
        package = json.loads(zf.read("datapackage.json"))
    package["resources"][0]["hash"] = "sha256:" + "a" * 64
    package_bytes = json.dumps(package).encode()
    digest = json.dumps({"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()})
    edited = rezip(
        wacz,
        tmp_path / "resource_hash_forged.wacz",
        replace={"datapackage.json": package_bytes, "datapackage-digest.json": digest.encode()},
    )
    assert_named(check_wacz(edited), f"{WARC_NAME}: its digest is")


def test_check_names_an_extra_file(tmp_path: Path, wacz: Path) -> None:
    extra = rezip(wacz, tmp_path / "extra_file.wacz", add={"notes/extra.txt": b"added later"})
    assert check_wacz(extra) == [
        "notes/extra.txt: in the zip but not listed in datapackage.json, so no digest vouches for it"
    ]


@pytest.mark.parametrize("removed", ["indexes/index.cdxj", "pages/pages.jsonl", WARC_NAME])
def test_check_names_a_removed_resource(tmp_path: Path, wacz: Path, removed: str) -> None:
    fewer = rezip(wacz, tmp_path / "resource_removed.wacz", replace={removed: None})
    assert_named(check_wacz(fewer), f"{removed}: listed in datapackage.json but not in the zip")


@pytest.mark.parametrize("removed", ["datapackage.json", "datapackage-digest.json"])
def test_check_names_a_missing_datapackage_file(tmp_path: Path, wacz: Path, removed: str) -> None:
    fewer = rezip(wacz, tmp_path / "datapackage_removed.wacz", replace={removed: None})
    assert_named(check_wacz(fewer), f"{removed}: missing")


def test_check_names_a_broken_index_line(tmp_path: Path, wacz: Path) -> None:
    with zipfile.ZipFile(wacz) as zf:
        index = zf.read("indexes/index.cdxj")
    broken = rezip(wacz, tmp_path / "index_broken.wacz", replace={"indexes/index.cdxj": index + b"garbage\n"})
    problems = check_wacz(broken)
    assert_named(problems, "indexes/index.cdxj: its digest is", f"indexes/index.cdxj line {len(EXCHANGES) + 1}: not")


def reseal(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    """Replace entries and rewrite datapackage.json and its digest to match, as a careful forger would."""
    with zipfile.ZipFile(source) as zf:
        package = json.loads(zf.read("datapackage.json"))
    for resource in package["resources"]:
        if resource["path"] in replace:
            data = replace[resource["path"]]
            resource["hash"], resource["bytes"] = "sha256:" + hashlib.sha256(data).hexdigest(), len(data)
    package_bytes = json.dumps(package).encode()
    digest = json.dumps({"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()})
    replace = {**replace, "datapackage.json": package_bytes, "datapackage-digest.json": digest.encode()}
    return rezip(source, target, replace=dict(replace))


def test_check_parses_the_index_even_when_the_digests_agree(tmp_path: Path, wacz: Path) -> None:
    with zipfile.ZipFile(wacz) as zf:
        lines = zf.read("indexes/index.cdxj").splitlines(keepends=True)
    key, timestamp, entry = lines[0].split(b" ", 2)
    moved = json.loads(entry)
    moved["offset"] = str(10**9)
    bad = [key + b" " + timestamp + b" " + json.dumps(moved).encode() + b"\n", *reversed(lines[1:]), b"x 2024 {}\n"]
    forged = reseal(wacz, tmp_path / "index_forged.wacz", {"indexes/index.cdxj": b"".join(bad)})
    problems = check_wacz(forged)
    assert_named(problems, "out of order", "fall outside data.warc.gz", f"line {len(lines) + 1}: not '<SURT key>")
    assert all(p.startswith("indexes/index.cdxj line ") for p in problems), problems


def test_check_parses_the_page_list_even_when_the_digests_agree(tmp_path: Path, wacz: Path) -> None:
    pages = b'{"format": "json-pages-1.0", "id": "pages"}\n{"url": "http://a/"}\n{"url": "http://a/", "ts": "soon"}\nnot json\n'
    forged = reseal(wacz, tmp_path / "pages_forged.wacz", {"pages/pages.jsonl": pages})
    assert check_wacz(forged) == [
        "pages/pages.jsonl line 2: a page needs a 'url' and a 'ts'",
        "pages/pages.jsonl line 3: ts 'soon' is not an RFC 3339 date-time",
        "pages/pages.jsonl line 4: not JSON",
    ]


def test_check_reports_a_non_zip_file(tmp_path: Path) -> None:
    not_zip = tmp_path / "not_a_zip.wacz"
    not_zip.write_bytes(b"%PDF-1.7 definitely not a zip" * 100)
    assert_named(check_wacz(not_zip), "not_a_zip.wacz: not a readable zip file")
    empty = tmp_path / "empty.wacz"
    empty.write_bytes(b"")
    assert_named(check_wacz(empty), "empty.wacz: not a readable zip file")
    assert_named(check_wacz(tmp_path / "absent.wacz"), "absent.wacz: no such file")


def test_check_refuses_a_dot_dot_entry_without_reading_it(tmp_path: Path, wacz: Path) -> None:
    evil = rezip(wacz, tmp_path / "dot_dot_entry.wacz", add={"../evil": b"escape", "/etc/absolute": b"x"})
    problems = check_wacz(evil)
    assert_named(problems, "../evil: unsafe entry name", "/etc/absolute: unsafe entry name")
    assert not (tmp_path.parent / "evil").exists()


def test_check_refuses_links_encrypted_and_foreign_entries(tmp_path: Path, wacz: Path) -> None:
    hostile = tmp_path / "hostile_entries.wacz"
    shutil.copy(wacz, hostile)
    with zipfile.ZipFile(hostile, "a") as zf:
        link = zipfile.ZipInfo("archive/link.warc")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("archive/secret.warc", b"not really encrypted")
        zf.writestr("archive/other.warc", b"x" * 1000, compress_type=zipfile.ZIP_BZIP2)
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("archive/dup.warc", b"one")
            zf.writestr("archive/dup.warc", b"two")
    data = bytearray(hostile.read_bytes())
    central = data.rfind(b"archive/secret.warc") - 46
    assert data[central : central + 4] == b"PK\x01\x02"
    data[central + 8] |= 0x1  # the "encrypted" flag, which zipfile will not write for us
    hostile.write_bytes(bytes(data))
    problems = check_wacz(hostile)
    assert_named(
        problems,
        "archive/link.warc: is a symbolic link",
        "archive/secret.warc: is encrypted",
        "archive/other.warc: uses compression method 12",
        "archive/dup.warc: appears more than once",
    )
    assert not any("listed" in p for p in problems if "archive/" in p.split(":")[0] and "data.warc" not in p)


def test_check_refuses_a_zip_bomb_and_a_lying_size(tmp_path: Path, wacz: Path) -> None:
    bomb = tmp_path / "zip_bomb.wacz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.warc", b"\0" * (20 * 1024 * 1024))
    assert_named(check_wacz(bomb), "archive/data.warc: expands", "zip bomb")
    # A central directory that claims a huge size for a stored entry.
    data = bytearray(wacz.read_bytes())
    central = data.rfind(b"pages/pages.jsonl") - 46  # the central directory copy of the name comes last
    assert data[central : central + 4] == b"PK\x01\x02"
    data[central + 24 : central + 28] = (2**32 - 2).to_bytes(4, "little")  # uncompressed size
    lying = tmp_path / "size_lies.wacz"
    lying.write_bytes(bytes(data))
    assert_named(check_wacz(lying), "pages/pages.jsonl:")


def test_check_never_raises_on_damaged_packages(tmp_path: Path, wacz: Path) -> None:
    original = wacz.read_bytes()
    rng = random.Random(20240501)
    damaged = tmp_path / "random_damage.wacz"
    for round_ in range(200):
        data = bytearray(original)
        if round_ % 4 == 0:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        damaged.write_bytes(bytes(data))
        problems = check_wacz(damaged)
        assert isinstance(problems, list) and all(isinstance(p, str) and "\n" not in p for p in problems)
