"""A minimal DER reader: walks tag-length-value elements and never builds or re-encodes anything.

Why it exists beside ``rfc3161-client``, which does all the parsing that decides whether an answer is
well-formed: three things a token holds are not exposed by that library, and this reads them from the
exact bytes: the SignerInfo's signed attributes and signature (to check the CMS signature with the
signer's own key, without a chain: see ``signature``), the fraction of genTime (the library drops it), and
the certificates of an answer the strict parser refuses (kept as "stored, not parsed strictly").
Every function raises ``DerError`` on anything it cannot walk; callers turn that into a problem.
"""

from __future__ import annotations

from dataclasses import dataclass

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
OCTET_STRING = 0x04
OID = 0x06
GENERALIZED_TIME = 0x18
CONTEXT_0 = 0xA0  # [0], constructed
CONTEXT_1 = 0xA1

_MAX_DEPTH_LENGTH_BYTES = 4  # no element of a token is 4 GiB


class DerError(ValueError):
    """The bytes are not the DER element expected there."""


@dataclass(frozen=True)
class Element:
    """One element of ``data``: its tag, where it starts (header included), where its contents start, its end."""

    data: bytes
    tag: int
    start: int
    body: int
    end: int

    @property
    def raw(self) -> bytes:
        """The whole element, header and contents, exactly as it is in the bytes."""
        return self.data[self.start : self.end]

    @property
    def contents(self) -> bytes:
        return self.data[self.body : self.end]

    def children(self) -> list[Element]:
        """The elements inside this constructed one, in order."""
        if not self.tag & 0x20:
            raise DerError(f"element with tag {self.tag:#04x} is not constructed")
        found = []
        at = self.body
        while at < self.end:
            child = read(self.data, at, self.end)
            found.append(child)
            at = child.end
        return found

    def child(self, index: int, tag: int | None = None) -> Element:
        items = self.children()
        if index >= len(items):
            raise DerError(f"element {index} is missing")
        item = items[index]
        if tag is not None and item.tag != tag:
            raise DerError(f"element {index} has tag {item.tag:#04x}, not {tag:#04x}")
        return item


def read(data: bytes, at: int = 0, limit: int | None = None) -> Element:
    """The element starting at ``at`` (which must end by ``limit``, default the end of ``data``)."""
    end_limit = len(data) if limit is None else limit
    if at + 2 > end_limit:
        raise DerError("truncated element header")
    tag, first = data[at], data[at + 1]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not expected here")
    body = at + 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > _MAX_DEPTH_LENGTH_BYTES or body + count > end_limit:
            raise DerError("bad or indefinite length")
        length = int.from_bytes(data[body : body + count], "big")
        body += count
    else:
        length = first
    end = body + length
    if end > end_limit:
        raise DerError("element runs past its container")
    return Element(data, tag, at, body, end)


def whole(data: bytes, tag: int) -> Element:
    """``data`` as one element of ``tag``, with nothing after it."""
    element = read(data)
    if element.tag != tag or element.end != len(data):
        raise DerError(f"not one element with tag {tag:#04x}")
    return element


def oid(element: Element) -> str:
    """The dotted form of an OBJECT IDENTIFIER element."""
    if element.tag != OID or element.end == element.body:
        raise DerError("not an object identifier")
    arcs: list[int] = []
    value = 0
    for byte in element.contents:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise DerError("truncated object identifier")
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(arc) for arc in head + arcs[1:])


def integer(element: Element) -> int:
    if element.tag != INTEGER or element.end == element.body:
        raise DerError("not an integer")
    return int.from_bytes(element.contents, "big", signed=True)
