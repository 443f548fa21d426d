"""WACZ 1.1.1 packages of a capture's WARC, so the page replays in standard players (ReplayWeb.page), and their check.

The WARC goes in byte for byte and uncompressed by the zip (STORED), so the evidence file inside the package
is the one the ledger recorded and a player can read records from it by offset. Every other entry is STORED
too: deflate output depends on the zlib build, and a re-export must be byte-identical to be comparable.
``check_wacz`` (in ``wacz_check``, re-exported here) reads a package as hostile input and never raises.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParserException

from evidencekit.bundle.check.wacz import (
    DATAPACKAGE,
    DATAPACKAGE_DIGEST,
    INDEX_PATH,
    PAGES_PATH,
    WACZ_VERSION,
    check_wacz,
)
from evidencekit.errors import InputFileError, OperationalError, UsageError, ValidationError
from evidencekit.hashing import hash_stream

__all__ = [
    "WaczPage",
    "build_wacz",
    "cdxj_lines",
    "check_wacz",
    "datapackage_digest_json",
    "datapackage_json",
    "pages_jsonl",
    "resource_entry",
    "surt_key",
    "warc_member_name",
]

PAGES_FORMAT = "json-pages-1.0"
_RFC3339_UTC = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z")
_INDEXED_TYPES = frozenset({"response", "revisit", "resource"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Bytes that would split a CDXJ line into the wrong fields (the key ends at the first space).
_KEY_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_FILE_MODE = 0o100644  # a regular file, rw-r--r--, whatever the umask of the exporting machine
_COPY_CHUNK = 1024 * 1024
_DateTime = tuple[int, int, int, int, int, int]


@dataclass(frozen=True)
class WaczPage:
    """One entry point of the replay: the page's URL, its title if known, and when it was captured."""

    url: str
    title: str | None
    ts: str  # RFC 3339 UTC, e.g. 2024-05-01T12:00:00.123456Z

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url or any(c in self.url for c in "\r\n"):
            raise ValidationError(f"a WACZ page needs a one-line URL, not {self.url!r}")
        if not isinstance(self.ts, str) or not _RFC3339_UTC.fullmatch(self.ts):
            raise ValidationError(f"a WACZ page time must be RFC 3339 UTC (…Z), not {self.ts!r}")
        if self.title is not None and not isinstance(self.title, str):
            raise ValidationError(f"a WACZ page title must be text, not {self.title!r}")


def build_wacz(
    warc: Path,
    out: Path,
    *,
    pages: Sequence[WaczPage],
    title: str,
    description: str,
    software: str,
    created: str,
) -> None:
    """Write ``out`` (which must not exist yet) as a WACZ 1.1.1 package of ``warc``.

    The same inputs always give the same bytes: entry times come from ``created``, entries are sorted,
    and the JSON is written with a fixed key order.
    """
    date_time = _zip_date_time(created)
    if not warc.is_file():
        raise InputFileError(f"no WARC file at {warc}; give the path of the capture's WARC")
    try:
        with warc.open("rb") as stream:
            archive_name = warc_member_name(stream.read(2))
            stream.seek(0)
            reader = _CountingReader(stream)
            index_lines = cdxj_lines(reader, archive_name, source=warc.name)
            reader.read_rest()
    except OSError as exc:
        raise OperationalError(f"cannot read {warc}: {exc.strerror or exc}") from None
    index = "".join(line + "\n" for line in index_lines).encode("utf-8")
    pages_bytes = pages_jsonl(pages, title)
    try:
        target = out.open("xb")
    except FileExistsError:
        raise UsageError(f"{out} already exists; choose a new path for the WACZ") from None
    except OSError as exc:
        raise OperationalError(f"cannot create {out}: {exc.strerror}") from None
    try:
        with target, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            resources = [_copy_warc(zf, warc, f"archive/{archive_name}", date_time, reader)]
            for path, data in ((INDEX_PATH, index), (PAGES_PATH, pages_bytes)):
                resources.append(resource_entry(path, hashlib.sha256(data).hexdigest(), len(data)))
            package = datapackage_json(resources, pages, title, description, software, created)
            digest = datapackage_digest_json(package)
            # Sorted entry order; the WARC (archive/…) sorts first and was written above.
            for name, data in sorted(
                [(DATAPACKAGE_DIGEST, digest), (DATAPACKAGE, package), (INDEX_PATH, index), (PAGES_PATH, pages_bytes)]
            ):
                zf.writestr(_zip_info(name, date_time), data)
    except BaseException as exc:
        out.unlink(missing_ok=True)  # never leave a half-written package that looks like a WACZ
        if isinstance(exc, OSError):
            raise OperationalError(f"cannot write {out}: {exc.strerror or exc}") from None
        raise


def warc_member_name(head: bytes) -> str:
    """The WARC's name inside the package (under ``archive/``), from its first bytes: gzip-compressed or not."""
    return "data.warc.gz" if head[:2] == b"\x1f\x8b" else "data.warc"


class _Source(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...
    def tell(self) -> int: ...


def cdxj_lines(stream: _Source, archive_name: str, *, source: str = "the WARC") -> list[str]:
    """Sorted CDXJ lines (``<SURT> <14-digit time> <JSON>``) for the records a player replays from."""
    entries: list[tuple[str, str, dict[str, str], str | None, str | None]] = []
    request_methods: dict[str, str] = {}  # request record id -> method
    methods_for: dict[str, str] = {}  # id a request names in WARC-Concurrent-To -> method
    iterator = ArchiveIterator(stream)
    seen_any = False
    try:
        for record in iterator:
            seen_any = True
            if record.format != "warc":  # warcio also reads ARC, and reads almost any text as ARC
                raise InputFileError(f"{source} is not a WARC: the record at byte {iterator.offset} is not WARC/1.x")
            headers = record.rec_headers
            if record.rec_type == "request":
                method = record.http_headers.protocol.upper() if record.http_headers else ""
                request_id = headers.get_header("WARC-Record-ID")
                if method and request_id:
                    request_methods[request_id] = method
                for name, target in headers.headers if method else ():  # the field may repeat
                    if name.lower() == "warc-concurrent-to":
                        methods_for[target] = method
                continue
            url = headers.get_header("WARC-Target-URI")
            if record.rec_type not in _INDEXED_TYPES or not url:
                continue
            fields = {"url": url, **_payload_fields(record)}
            timestamp = _warc_timestamp(headers.get_header("WARC-Date") or "", source, iterator)
            iterator.read_to_end(record)
            fields["length"] = str(iterator.get_record_length())
            fields["offset"] = str(iterator.get_record_offset())
            fields["filename"] = archive_name
            concurrent = headers.get_header("WARC-Concurrent-To")
            entries.append((url, timestamp, fields, headers.get_header("WARC-Record-ID"), concurrent))
    except (ArchiveLoadFailed, StatusAndHeadersParserException, zlib.error, EOFError, ValueError) as exc:
        raise InputFileError(f"{source} is not a readable WARC: {' '.join(str(exc).split())[:200]}") from None
    if not seen_any:
        raise InputFileError(f"{source} holds no WARC records; give the capture's WARC file")
    lines = []
    for url, timestamp, fields, record_id, concurrent in entries:
        method = (record_id and methods_for.get(record_id)) or (concurrent and request_methods.get(concurrent))
        if method and method != "GET":
            # Players key non-GET responses apart from GET ones, so a POST reply is never served for a GET.
            fields["method"] = method
        lines.append(f"{surt_key(url)} {timestamp} {json.dumps(fields)}")
    return sorted(lines)


def surt_key(url: str) -> str:
    """The SURT sort key of a URL: host labels reversed, ``www`` and default port dropped, query sorted."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return _key_safe(url.lower())
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme.lower() not in _DEFAULT_PORTS or not host:
        return _key_safe(url.lower())
    host = re.sub(r"^www\d*\.", "", host)
    key = host if ":" in host else ",".join(reversed(host.split(".")))
    if port is not None and port != _DEFAULT_PORTS[parts.scheme.lower()]:
        key += f":{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = "&".join(sorted(arg for arg in parts.query.split("&") if arg))
    key += ")" + path + (f"?{query}" if query else "")
    return _key_safe(key.lower())


def _key_safe(key: str) -> str:
    return _KEY_UNSAFE.sub(lambda m: "".join(f"%{b:02x}" for b in m.group().encode()), key)


def _payload_fields(record: Any) -> dict[str, str]:
    fields: dict[str, str] = {}
    if record.rec_type == "revisit":
        fields["mime"] = "warc/revisit"
    elif record.rec_type == "resource":
        fields["mime"] = _media_type(record.rec_headers.get_header("Content-Type"))
    else:
        http = record.http_headers
        fields["mime"] = _media_type(http.get_header("Content-Type") if http else None)
    if record.rec_type == "resource":
        fields["status"] = "200"
    elif record.http_headers and record.http_headers.get_statuscode():
        fields["status"] = str(record.http_headers.get_statuscode())
    digest = record.rec_headers.get_header("WARC-Payload-Digest")
    if digest:
        fields["digest"] = digest
    return fields


def _media_type(content_type: str | None) -> str:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media or "unk"  # "unk" is what other CDXJ indexers write for an unknown type


def _warc_timestamp(value: str, source: str, iterator: Any) -> str:
    match = _RFC3339_UTC.fullmatch(value.strip())
    if not match:
        raise InputFileError(
            f"{source}: a record near byte {iterator.offset} has WARC-Date {value!r}, not UTC ISO 8601"
        )
    return "".join(match.groups()[:6])


def pages_jsonl(pages: Sequence[WaczPage], title: str) -> bytes:
    lines = [{"format": PAGES_FORMAT, "id": "pages", "title": title}]
    for number, page in enumerate(pages):
        # Stable ids: the same page list always gives the same ids (no random UUIDs).
        page_id = hashlib.sha256(f"{number}\n{page.url}\n{page.ts}".encode()).hexdigest()[:32]
        line: dict[str, str] = {"id": page_id, "url": page.url, "ts": page.ts}
        if page.title is not None:
            line["title"] = page.title
        lines.append(line)
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


def datapackage_json(
    resources: list[dict[str, Any]],
    pages: Sequence[WaczPage],
    title: str,
    description: str,
    software: str,
    created: str,
) -> bytes:
    package: dict[str, Any] = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": title,
        "description": description,
        "created": created,
        "software": software,
    }
    if pages:
        package["mainPageUrl"] = pages[0].url
        package["mainPageDate"] = pages[0].ts
    package["resources"] = sorted(resources, key=lambda r: str(r["path"]))
    return _json_bytes(package)


def resource_entry(path: str, sha256_hex: str, size: int) -> dict[str, Any]:
    return {"name": path.rsplit("/", 1)[-1], "path": path, "hash": f"sha256:{sha256_hex}", "bytes": size}


def datapackage_digest_json(package: bytes) -> bytes:
    """datapackage-digest.json for the bytes of datapackage.json."""
    return _json_bytes({"path": DATAPACKAGE, "hash": f"sha256:{hashlib.sha256(package).hexdigest()}"})


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _copy_warc(
    zf: zipfile.ZipFile, warc: Path, name: str, date_time: _DateTime, indexed: _CountingReader
) -> dict[str, Any]:
    info = _zip_info(name, date_time)
    info.file_size = indexed.size  # lets zipfile choose ZIP64 from the size, so the choice is deterministic
    with warc.open("rb") as source, zf.open(info, "w") as entry:
        digests = hash_stream(source, sink=entry.write)
    if (digests.size, digests.sha256) != (indexed.size, indexed.sha256.hexdigest()):
        raise OperationalError(f"{warc} changed while it was packaged; export again from the stored copy")
    return resource_entry(name, digests.sha256, digests.size)


def _zip_info(name: str, date_time: _DateTime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3  # Unix, on every platform, so the bytes do not depend on where export ran
    info.external_attr = _FILE_MODE << 16
    return info


def _zip_date_time(created: str) -> _DateTime:
    match = _RFC3339_UTC.fullmatch(created) if isinstance(created, str) else None
    if not match:
        raise ValidationError(f"the WACZ creation time must be RFC 3339 UTC (…Z), not {created!r}")
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise ValidationError(f"the WACZ creation time {created!r} is not a real date and time") from None
    if not 1980 <= moment.year <= 2107:
        raise ValidationError(f"the WACZ creation time {created!r} is outside 1980-2107, which a zip cannot record")
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


class _CountingReader:
    """A read-only view of the WARC that hashes what the indexer reads, so the copy can be checked against it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.size = 0
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.size += len(data)
        self.sha256.update(data)
        return data

    def tell(self) -> int:
        return self.size

    def read_rest(self) -> None:
        while self.read(_COPY_CHUNK):
            pass
