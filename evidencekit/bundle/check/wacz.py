"""Checking a WACZ package that may be hostile: every limit is checked before anything is read.

``check_wacz`` reports every problem it finds, one line each naming the zip entry, and never raises: a
verifier must be able to say what is wrong with any file it is handed, including a zip bomb, a foreign
file or one with ``..`` entries. It reads entries in memory only and never extracts anything to disk.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

WACZ_VERSION = "1.1.1"
DATAPACKAGE = "datapackage.json"
DATAPACKAGE_DIGEST = "datapackage-digest.json"
INDEX_PATH = "indexes/index.cdxj"
PAGES_PATH = "pages/pages.jsonl"

MAX_ENTRY_BYTES = 64 * 1024**3  # the largest single entry (a WARC) a check will read
MAX_TOTAL_BYTES = 64 * 1024**3  # the most a check reads, all entries together
MAX_DEFLATE_RATIO = 200  # deflate reaches about 1000:1 only on pathological input such as zip bombs
MAX_JSON_BYTES = 16 * 1024**2  # datapackage.json and datapackage-digest.json
MAX_LINE_BYTES = 16 * 1024**2  # one line of pages.jsonl or index.cdxj
_CHUNK = 1024 * 1024
MAX_PROBLEMS_PER_FILE = 20  # beyond this a damaged index or page list is summarised, not listed line by line
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)
_SHA256_TAG = re.compile(r"sha256:[0-9a-f]{64}")
_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]|^[A-Za-z]:")


def check_wacz(path: Path) -> list[str]:
    """Every problem found in the WACZ at ``path``, one line each naming the entry; [] when it is intact.

    Checks the datapackage digest, each resource's SHA-256 and byte count, that nothing unlisted rides
    along, and that the WARC, the page list and the index are there and parse. Never raises.
    """
    problems: list[str] = []
    try:
        _Checker(path, problems).run()
    except Exception as exc:  # the contract is a list of problems, never a traceback, whatever the file holds
        problems.append(f"{path.name}: could not be checked to the end ({type(exc).__name__}: {_one_line(exc)})")
    return problems


class _Checker:
    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.damaged: set[str] = set()

    def add(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)

    def run(self) -> None:
        try:
            size = self.path.stat().st_size
            zf = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            self.add(f"{self.path.name}: no such file")
            return
        except (zipfile.LargeZipFile, *_READ_ERRORS) as exc:
            self.add(f"{self.path.name}: not a readable zip file ({_one_line(exc)})")
            return
        with zf:
            self._index_entries(zf, size)
            package_raw, package = self._load_json(zf, DATAPACKAGE)
            digest_raw, digest = self._load_json(zf, DATAPACKAGE_DIGEST)
            if package_raw is not None and digest_raw is not None:
                self._check_digest(package_raw, digest)
            resources = self._resources(package) if package_raw is not None else None
            if resources is not None:
                for name, (sha, size_) in sorted(resources.items()):
                    if name in self.members:
                        self._check_resource(zf, self.members[name], sha, size_)
                    elif name not in self.damaged:  # a refused entry was reported already
                        self.add(f"{name}: listed in {DATAPACKAGE} but not in the zip")
                        self.damaged.add(name)
                for name in sorted(set(self.members) - set(resources) - {DATAPACKAGE, DATAPACKAGE_DIGEST}):
                    self.add(f"{name}: in the zip but not listed in {DATAPACKAGE}, so no digest vouches for it")
            self._check_layout(zf)

    def _index_entries(self, zf: zipfile.ZipFile, archive_size: int) -> None:
        seen: set[str] = set()
        total = 0
        for info in zf.infolist():
            problem = _entry_problem(info, archive_size)
            if info.filename in seen:
                problem = "appears more than once in the zip; which copy counts is ambiguous"
                self.members.pop(info.filename, None)
            seen.add(info.filename)
            if problem:
                self.add(f"{_printable(info.filename)}: {problem}")
                self.damaged.add(info.filename)
            elif not info.is_dir() and info.filename not in self.damaged:
                self.members[info.filename] = info
                total += info.file_size
        if total > MAX_TOTAL_BYTES:
            self.add(f"{self.path.name}: its entries declare {total} bytes, over the {MAX_TOTAL_BYTES}-byte limit")
            self.damaged.update(self.members)
            self.members.clear()

    def _read(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
        if info.file_size > limit:
            self.add(f"{info.filename}: declares {info.file_size} bytes, over the {limit}-byte limit for it")
            return None
        try:
            with zf.open(info) as stream:
                return stream.read(limit + 1)
        except _READ_ERRORS as exc:
            self._damaged(info.filename, exc)
            return None

    def _damaged(self, name: str, exc: BaseException) -> None:
        self.damaged.add(name)
        self.add(f"{name}: damaged inside the zip ({_one_line(exc)})")

    def _load_json(self, zf: zipfile.ZipFile, name: str) -> tuple[bytes | None, Any]:
        info = self.members.get(name)
        if info is None:
            if name not in self.damaged:
                self.add(f"{name}: missing")
            return None, None
        raw = self._read(zf, info, MAX_JSON_BYTES)
        if raw is None:
            return None, None
        try:
            return raw, json.loads(raw)
        except (ValueError, RecursionError) as exc:
            self.add(f"{name}: not valid JSON ({_one_line(exc)})")
            return raw, None

    def _check_digest(self, package_raw: bytes, digest: Any) -> None:
        if not isinstance(digest, dict):
            self.add(f"{DATAPACKAGE_DIGEST}: not a JSON object with path and hash")
            return
        if digest.get("path") != DATAPACKAGE:
            self.add(f"{DATAPACKAGE_DIGEST}: path is {digest.get('path')!r}, not {DATAPACKAGE!r}")
        recorded = digest.get("hash")
        actual = f"sha256:{hashlib.sha256(package_raw).hexdigest()}"
        if not isinstance(recorded, str) or not _SHA256_TAG.fullmatch(recorded):
            self.add(f"{DATAPACKAGE_DIGEST}: hash {_printable(str(recorded))} is not 'sha256:<64 hex digits>'")
        elif recorded != actual:
            self.add(f"{DATAPACKAGE}: its digest is {actual} but {DATAPACKAGE_DIGEST} records {recorded}")

    def _resources(self, package: Any) -> dict[str, tuple[str | None, int | None]] | None:
        if not isinstance(package, dict):
            if package is not None:
                self.add(f"{DATAPACKAGE}: not a JSON object")
            return None
        if package.get("profile") != "data-package":
            self.add(f"{DATAPACKAGE}: profile is {package.get('profile')!r}, not 'data-package'")
        if package.get("wacz_version") != WACZ_VERSION:
            self.add(f"{DATAPACKAGE}: wacz_version is {package.get('wacz_version')!r}, not {WACZ_VERSION!r}")
        listed = package.get("resources")
        if not isinstance(listed, list):
            self.add(f"{DATAPACKAGE}: has no resources list")
            return None
        resources: dict[str, tuple[str | None, int | None]] = {}
        for number, item in enumerate(listed):
            name = item.get("path") if isinstance(item, dict) else None
            if not isinstance(name, str):
                self.add(f"{DATAPACKAGE}: resource {number} has no path")
                continue
            if name in resources:
                self.add(f"{_printable(name)}: listed twice in {DATAPACKAGE}")
                continue
            tagged, size = item.get("hash"), item.get("bytes")
            sha = tagged[len("sha256:") :] if isinstance(tagged, str) and _SHA256_TAG.fullmatch(tagged) else None
            if sha is None:
                self.add(f"{_printable(name)}: {DATAPACKAGE} gives no 'sha256:<64 hex digits>' hash for it")
            if type(size) is not int or size < 0:
                self.add(f"{_printable(name)}: {DATAPACKAGE} gives no byte count for it")
                size = None
            resources[name] = (sha, size)
        return resources

    def _check_resource(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, sha: str | None, size: int | None) -> None:
        hasher, count = hashlib.sha256(), 0
        try:
            with zf.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    hasher.update(chunk)
                    count += len(chunk)
        except _READ_ERRORS as exc:
            self._damaged(info.filename, exc)
            return
        if size is not None and count != size:
            self.add(f"{info.filename}: holds {count} bytes but {DATAPACKAGE} records {size}")
        if sha is not None and hasher.hexdigest() != sha:
            self.add(
                f"{info.filename}: its digest is sha256:{hasher.hexdigest()} but {DATAPACKAGE} records sha256:{sha}"
            )

    def _check_layout(self, zf: zipfile.ZipFile) -> None:
        warcs = {
            name[len("archive/") :]: info.file_size
            for name, info in self.members.items()
            if name.startswith("archive/") and name.endswith((".warc", ".warc.gz"))
        }
        if not warcs:
            self.add("archive/: holds no WARC file (.warc or .warc.gz)")
        for name in (PAGES_PATH, INDEX_PATH):
            if name not in self.members:
                if name not in self.damaged:
                    self.add(f"{name}: missing")
            elif name not in self.damaged:
                check = self._check_page_line if name == PAGES_PATH else self._check_index_line
                bad, previous = 0, b""
                for number, line in self._lines(zf, self.members[name]):
                    problem = check(number, line, previous, warcs)
                    previous = line
                    if problem:
                        bad += 1
                        if bad <= MAX_PROBLEMS_PER_FILE:
                            self.add(f"{name} line {number}: {problem}")
                if bad > MAX_PROBLEMS_PER_FILE:
                    self.add(f"{name}: {bad - MAX_PROBLEMS_PER_FILE} more bad lines not listed")

    def _lines(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[tuple[int, bytes]]:
        number = 0
        try:
            with zf.open(info) as stream:
                while line := stream.readline(MAX_LINE_BYTES + 1):
                    number += 1
                    if len(line) > MAX_LINE_BYTES:
                        self.add(f"{info.filename} line {number}: longer than {MAX_LINE_BYTES} bytes; not read further")
                        return
                    yield number, line
        except _READ_ERRORS as exc:
            self._damaged(info.filename, exc)
        if number == 0 and info.filename == PAGES_PATH:  # an empty index is fine: a capture may get no response
            self.add(f"{info.filename}: empty; a page list has at least its header line")

    @staticmethod
    def _check_page_line(number: int, line: bytes, previous: bytes, warcs: dict[str, int]) -> str | None:
        try:
            page = json.loads(line)
        except (ValueError, RecursionError):
            return "not JSON"
        if number == 1 and isinstance(page, dict) and "format" in page:  # the header line is optional
            if not str(page["format"]).startswith("json-pages-"):
                return f"header names format {str(page['format'])[:100]!r}, not json-pages-1.0"
            return None
        if not isinstance(page, dict) or not isinstance(page.get("url"), str) or not isinstance(page.get("ts"), str):
            return "a page needs a 'url' and a 'ts'"
        try:
            datetime.fromisoformat(page["ts"].replace("Z", "+00:00"))
        except ValueError:
            return f"ts {page['ts'][:100]!r} is not an RFC 3339 date-time"
        return None

    @staticmethod
    def _check_index_line(number: int, line: bytes, previous: bytes, warcs: dict[str, int]) -> str | None:
        parts = line.rstrip(b"\r\n").split(b" ", 2)
        if len(parts) != 3 or not re.fullmatch(rb"\d{14}", parts[1]):
            return "not '<SURT key> <14-digit time> <JSON>'"
        if line < previous:
            return "out of order; players binary-search the index, so it must be sorted"
        try:
            entry = json.loads(parts[2])
        except (ValueError, RecursionError):
            return "its JSON part does not parse"
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            return "has no url"
        offset, length, filename = _count(entry.get("offset")), _count(entry.get("length")), entry.get("filename")
        if not warcs:
            return None  # the missing WARC was reported once; every line saying so again would only be noise
        if not isinstance(filename, str) or filename not in warcs:
            return f"points into {str(filename)[:100]!r}, which is not a WARC in archive/"
        if offset is None or length is None or length == 0 or offset + length > warcs[filename]:
            return f"offset {entry.get('offset')!r} and length {entry.get('length')!r} fall outside {filename}"
        return None


def _entry_problem(info: zipfile.ZipInfo, archive_size: int) -> str | None:
    name = info.filename
    parts = name.rstrip("/").split("/")
    if not name or name.startswith("/") or _NAME_UNSAFE.search(name) or any(p in ("", ".", "..") for p in parts):
        return "unsafe entry name (absolute, '..', backslash or control character); not read"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link; not followed"
    if info.flag_bits & 0x1:
        return "is encrypted; cannot be checked"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"uses compression method {info.compress_type}; a WACZ uses only stored or deflated entries"
    if info.file_size > MAX_ENTRY_BYTES:
        return f"declares {info.file_size} bytes, over the {MAX_ENTRY_BYTES}-byte limit; not read"
    if info.header_offset + info.compress_size > archive_size:
        return "declares more compressed bytes than the file holds; not read"
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        return "is stored uncompressed but declares two different sizes; not read"
    if info.file_size > _CHUNK and info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1):
        return f"expands {info.file_size // max(info.compress_size, 1)}:1, a zip bomb; not read"
    return None


def _count(value: Any) -> int | None:
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _printable(text: str) -> str:
    return text if text.isprintable() else ascii(text)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
