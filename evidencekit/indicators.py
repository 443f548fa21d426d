"""Contact indicators in page text and links: what lets an investigator tie many ads to one person.

Kinds: ``phone`` (E.164), ``whatsapp`` (E.164, or a group invite URL), ``telegram`` (``@handle``, E.164 or
an invite URL), ``email`` (lower-cased whole: RFC 5321 discourages case-sensitive mailboxes and no large
provider has them, so the case an ad happens to use must not split one person in two), ``social``
(``platform:handle``), ``crypto`` (``bitcoin:``, ``ethereum:`` or ``tron:`` + address, checksum verified)
and ``url`` (every http(s) URL, normalised).

A WhatsApp or Telegram number is reported under its own kind and also as a ``phone``, so one number used
on several channels links up. URLs are read from the text as ASCII only (``https://…``, ``www.…`` and
bare links to the platforms above, which are given ``https://``); an address written in other scripts is
missed rather than glued to the words around it. Pure functions: no I/O, nothing is looked up online.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit, urlunsplit

import phonenumbers

from evidencekit.errors import UsageError, ValidationError

KINDS = ("phone", "whatsapp", "telegram", "email", "social", "crypto", "url")
_KIND_RANK = {kind: rank for rank, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Indicator:
    """One indicator: its kind, its normalised value (the key to link on) and the text as found."""

    kind: str
    value: str
    raw: str

    def __post_init__(self) -> None:
        if self.kind not in _KIND_RANK:
            raise ValidationError(f"unknown indicator kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if not self.value:
            raise ValidationError(f"a {self.kind} indicator needs a value")

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "value": self.value, "raw": self.raw}


def extract_indicators(text: str, links: Sequence[str] = (), default_region: str = "US") -> list[Indicator]:
    """Every indicator in ``text`` and ``links`` (absolute hrefs), one per (kind, value).

    Numbers without a country code are read as numbers of ``default_region`` (ISO 3166 alpha-2).
    Order: by kind in the order of KINDS, then by first appearance (the text first, then the links);
    ``raw`` is the first occurrence.
    """
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise UsageError(f"unknown phone region {default_region!r}; use an ISO 3166 code such as US, GB or DE")
    found: list[tuple[int, Indicator]] = []
    # URLs, e-mail addresses and coin addresses are blanked out (same length) before phone matching,
    # so that digits inside them are not read as phone numbers.
    masked = list(text)
    found += _text_urls(text, masked, region)
    found += _emails(text, masked)
    found += _coins(text, masked)
    blanked = "".join(masked)
    found += _phones(text, blanked, region)
    found += _telegram_mentions(text, blanked)
    for index, link in enumerate(links):
        found += [(len(text) + index, _indicator(kind, value, link)) for kind, value in _from_link(link, region)]
    return _deduplicated(found)


_Found = Iterator[tuple[int, Indicator]]


def _indicator(kind: str, value: str, raw: str) -> Indicator:
    return Indicator(kind, value, raw.strip())


def _text_urls(text: str, masked: list[str], region: str) -> _Found:
    for start, end, url in _urls_in_text(text):
        _blank(masked, start, end)
        for kind, value in _from_url(url, region):
            yield start, _indicator(kind, value, text[start:end])


def _emails(text: str, masked: list[str]) -> _Found:
    for match in _EMAIL.finditer(text):
        value = _email_value(match)
        if value and masked[match.start()] != " ":  # not the user part of a URL already taken
            _blank(masked, match.start(), match.end())
            yield match.start(), _indicator("email", value, match.group())


def _coins(text: str, masked: list[str]) -> _Found:
    for match in _COIN.finditer(text):
        coin = crypto_address_value(match.group())
        if coin:
            _blank(masked, match.start(), match.end())
            yield match.start(), _indicator("crypto", coin, match.group())


def _phones(text: str, blanked: str, region: str) -> _Found:
    for phone in phonenumbers.PhoneNumberMatcher(blanked, region, leniency=phonenumbers.Leniency.VALID):
        number, raw = _e164(phone.number), text[phone.start : phone.end]
        yield phone.start, _indicator("phone", number, raw)
        # "WhatsApp: +44 ..." makes the number a WhatsApp contact as much as a wa.me link does.
        if _WHATSAPP_WORD.search(blanked[max(0, phone.start - 24) : phone.start]):
            yield phone.start, _indicator("whatsapp", number, raw)


def _telegram_mentions(text: str, blanked: str) -> _Found:
    for mention in _TELEGRAM_MENTION.finditer(blanked):
        handle = mention.group("after") or mention.group("before") or ""
        yield mention.start(), _indicator("telegram", "@" + handle.lower(), text[mention.start() : mention.end()])


def _deduplicated(found: list[tuple[int, Indicator]]) -> list[Indicator]:
    found.sort(key=lambda item: (_KIND_RANK[item[1].kind], item[0]))
    seen: set[tuple[str, str]] = set()
    result = []
    for _, indicator in found:
        if (indicator.kind, indicator.value) not in seen:
            seen.add((indicator.kind, indicator.value))
            result.append(indicator)
    return result


def _blank(chars: list[str], start: int, end: int) -> None:
    chars[start:end] = " " * (end - start)


# --- phones ---------------------------------------------------------------------------------------


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _international_number(digits: str) -> str | None:
    """E.164 of a number written with its country code (as WhatsApp links require), if valid."""
    digits = re.sub(r"\D", "", digits)
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    return _e164(number) if phonenumbers.is_valid_number(number) else None


def _tel_number(target: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(unquote(target).split(";", 1)[0], region)
    except phonenumbers.NumberParseException:
        return None
    return _e164(number) if phonenumbers.is_valid_number(number) else None


_WHATSAPP_WORD = re.compile(
    r"(?i)(?:whats\s?app|watsapp|ватсап|вотсап|واتساب|واتس اب|واٹس ?ایپ|व्हाट्सएप|व्हाट्सऐप)[^\n\d+]{0,16}$"
)
_TELEGRAM_WORD = (
    r"(?:(?<![A-Za-z])(?:telegram|tg)(?![A-Za-z])|телеграмм?|телега|टेलीग्राम|تيليجرام|تلغرام|تليجرام|تلگرام"
    r"|ٹیلیگرام|ٹیلی گرام|电报|電報)"
)
_HANDLE = r"[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_])"
_INVITE = r"[A-Za-z0-9_-]{8,64}"  # the code of a Telegram group invite link
_TELEGRAM_MENTION = re.compile(
    rf"(?i){_TELEGRAM_WORD}[\s:\uff1a=>\-\u2013\u2014(\[]{{0,6}}(?<![A-Za-z0-9_.@])@(?P<after>{_HANDLE})"
    rf"|(?<![A-Za-z0-9_.@])@(?P<before>{_HANDLE})[ \t(\[]{{0,4}}(?:(?:on|in|via)[ \t]+)?{_TELEGRAM_WORD}"
)

# --- e-mail ---------------------------------------------------------------------------------------

_AT = r"(?:[ \t]*[@\uff20][ \t]*|[ \t]*[\[({<][ \t]*(?:at|@)[ \t]*[\])}>][ \t]*)"
_DOT = r"(?:\.|[ \t]*[\[({<][ \t]*(?:dot|\.)[ \t]*[\])}>][ \t]*|[ \t]+dot[ \t]+)"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LOCAL = r"(?<![A-Za-z0-9._%+-])(?P<local>[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)"
# "name at domain dot com" only when the dots are spelt out too, else "meet me at hotel.de" would match.
_EMAIL = re.compile(
    rf"(?i){_LOCAL}(?:{_AT}(?P<domain>(?:{_LABEL}{_DOT}){{1,8}}[A-Za-z]{{2,24}})"
    rf"|[ \t]+at[ \t]+(?P<spelt>(?:{_LABEL}[ \t]+dot[ \t]+){{1,8}}[A-Za-z]{{2,24}}))(?![A-Za-z0-9-])"
)
_EMAIL_ADDRESS = re.compile(rf"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:{_LABEL}\.)+[A-Za-z]{{2,24}}")
_DOT_SPLIT = re.compile(rf"(?i){_DOT}")


def _email_value(match: re.Match[str]) -> str | None:
    domain = match.group("domain") or match.group("spelt")
    labels = [label for label in _DOT_SPLIT.split(domain) if label]
    value = f"{match.group('local')}@{'.'.join(labels)}".lower()
    return value if _EMAIL_ADDRESS.fullmatch(value) else None


# --- URLs and the platforms behind them -----------------------------------------------------------

_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
_PLATFORM_HOSTS = (
    r"wa\.me|t\.me|telegram\.(?:me|dog)|(?:api\.|chat\.|web\.)?whatsapp\.com|instagram\.com|facebook\.com"
    r"|fb\.com|x\.com|twitter\.com|tiktok\.com|vk\.com"
)
_URL_IN_TEXT = re.compile(
    rf"(?i)(?<![A-Za-z0-9])(?:https?://|www\.){_URL_CHARS}+"
    rf"|(?<![\w.@/-])(?:(?:www|m|mobile)\.)?(?:{_PLATFORM_HOSTS})/{_URL_CHARS}*"
)
_TRAILING = ".,;:!?'\"*"
_BRACKETS = {")": "(", "]": "["}


def _urls_in_text(text: str) -> Iterator[tuple[int, int, str]]:
    for match in _URL_IN_TEXT.finditer(text):
        url = match.group()
        end = len(url)
        unmatched = {close: url.count(close) - url.count(opening) for close, opening in _BRACKETS.items()}
        # Sentence punctuation and an unbalanced closing bracket belong to the prose, not the URL.
        while end and (url[end - 1] in _TRAILING or unmatched.get(url[end - 1], 0) > 0):
            if url[end - 1] in unmatched:
                unmatched[url[end - 1]] -= 1
            end -= 1
        url = url[:end]
        absolute = url if url.lower().startswith(("http://", "https://")) else "https://" + url
        yield match.start(), match.start() + end, absolute


def normalise_url(url: str) -> str | None:
    """Lower-case scheme and host, no default port, no fragment, ``/`` for an empty path; None if not http(s)."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _from_link(link: str, region: str) -> Iterable[tuple[str, str]]:
    link = link.strip()
    scheme = link.split(":", 1)[0].lower()
    target = link[len(scheme) + 1 :]
    if scheme in ("http", "https"):
        yield from _from_url(link, region)
    elif scheme == "mailto":
        for address in unquote(target.split("?", 1)[0]).split(","):
            if _EMAIL_ADDRESS.fullmatch(address.strip()):
                yield "email", address.strip().lower()
    elif scheme == "tel":
        number = _tel_number(target, region)
        if number:
            yield "phone", number
    elif scheme in ("whatsapp", "tg"):
        try:
            parts = urlsplit(link)
        except ValueError:  # e.g. an unclosed "[" in the authority
            parts = urlsplit("")
        yield from _from_app_link(scheme, parts)
    for match in _COIN.finditer(link):
        coin = crypto_address_value(match.group())
        if coin:
            yield "crypto", coin


def _from_app_link(scheme: str, parts: SplitResult) -> Iterable[tuple[str, str]]:
    query = parse_qs(parts.query)
    if scheme == "whatsapp" and query.get("phone"):
        yield from _numbers("whatsapp", _international_number(query["phone"][0]))
    elif scheme == "tg" and query.get("domain") and re.fullmatch(_HANDLE, query["domain"][0]):
        yield "telegram", "@" + query["domain"][0].lower()
    elif scheme == "tg" and re.fullmatch(_INVITE, query.get("invite", [""])[0]):
        yield "telegram", "https://t.me/+" + query["invite"][0]


def _platform(host: str) -> str:
    """The platform's registered domain when ``host`` is it or a plain web/mobile subdomain of it."""
    for prefix in ("www.", "m.", "mobile.", "web."):
        if host.startswith(prefix) and host.count(".") > 1:
            return host[len(prefix) :]
    return host


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _from_url(url: str, region: str) -> Iterable[tuple[str, str]]:
    normal = normalise_url(url)
    if normal is None:
        return
    yield "url", normal
    parts = urlsplit(normal)
    host = _platform(parts.hostname or "")
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    query = parse_qs(parts.query)
    first = segments[0] if segments else ""
    if host == "wa.me" and re.fullmatch(r"\+?\d{6,15}", first):
        yield from _numbers("whatsapp", _international_number(first))
    elif host in ("whatsapp.com", "api.whatsapp.com") and first == "send" and query.get("phone"):
        yield from _numbers("whatsapp", _international_number(query["phone"][0]))
    elif host == "chat.whatsapp.com" and re.fullmatch(r"[A-Za-z0-9]{10,40}", first):
        yield "whatsapp", f"https://chat.whatsapp.com/{first}"
    elif host in ("t.me", "telegram.me", "telegram.dog"):
        yield from _telegram(segments)
    else:
        social = _social(host, segments, query)
        if social:
            yield "social", social


def _numbers(kind: str, number: str | None) -> Iterable[tuple[str, str]]:
    if number:
        yield from ((kind, number), ("phone", number))


_TELEGRAM_RESERVED = _words(
    "share addstickers addemoji addtheme addlist proxy socks c iv login setlanguage bg invoice boost"
    " confirmphone contact m"
)


def _telegram(segments: list[str]) -> Iterable[tuple[str, str]]:
    first = segments[0] if segments else ""
    if first == "s" and len(segments) > 1:
        first = segments[1]  # t.me/s/<channel> is the public web preview of the channel
    elif first == "joinchat" and len(segments) > 1:
        first = "+" + segments[1]  # the older spelling of the same invite link
    if first.startswith("+") and first[1:].isdigit():
        yield from _numbers("telegram", _international_number(first))
    elif first.startswith("+") and re.fullmatch(_INVITE, first[1:]):
        yield "telegram", f"https://t.me/{first}"
    elif first.lower() not in _TELEGRAM_RESERVED and re.fullmatch(_HANDLE, first):
        yield "telegram", "@" + first.lower()


# platform domain -> (name in the value, handle pattern, first path segments that are not profiles)
_SOCIAL_SITES: dict[str, tuple[str, str, frozenset[str]]] = {
    "instagram.com": (
        "instagram",
        r"[A-Za-z0-9._]{1,30}",
        _words("p reel reels tv explore accounts direct about developer legal web challenge emails"),
    ),
    "facebook.com": (
        "facebook",
        r"[A-Za-z0-9.]{5,50}",
        _words(
            "share sharer sharer.php dialog plugins tr login login.php groups pages events watch photo photo.php"
            " photos permalink.php story.php hashtag marketplace help policies privacy legal business gaming"
            " reel reels stories home.php notifications messages settings bookmarks l.php video.php videos"
            " search ads public friends"
        ),
    ),
    "x.com": (
        "x",
        r"[A-Za-z0-9_]{1,15}",
        _words(
            "intent share home search hashtag i explore settings messages notifications login logout signup"
            " tos privacy compose about account download jobs en help widgets oauth"
        ),
    ),
    "tiktok.com": ("tiktok", r"@[A-Za-z0-9._]{2,24}", frozenset()),
    "vk.com": (
        "vk",
        r"[A-Za-z0-9._]{2,32}",
        _words("feed im search settings friends groups login music video audio photos docs apps games"),
    ),
}
_SOCIAL_SITES["fb.com"] = _SOCIAL_SITES["facebook.com"]
_SOCIAL_SITES["twitter.com"] = _SOCIAL_SITES["x.com"]
_VK_CONTENT = re.compile(r"(?:wall|photo|video|topic|album|audio|doc|app|note|poll|market|product|clip|story)-?\d.*")


def _social(host: str, segments: list[str], query: dict[str, list[str]]) -> str | None:
    site = _SOCIAL_SITES.get(host)
    if site is None or not segments:
        return None
    name, pattern, reserved = site
    handle = segments[0]
    if name == "instagram" and handle == "stories" and len(segments) > 1:
        handle = segments[1]
    if name == "facebook" and handle == "profile.php" and query.get("id", [""])[0].isdigit():
        return f"facebook:{query['id'][0]}"
    if name == "facebook" and handle == "people" and len(segments) > 2 and segments[2].isdigit():
        return f"facebook:{segments[2]}"
    if handle.lower() in reserved or handle.endswith(".php") or not re.fullmatch(pattern, handle):
        return None
    if name == "vk" and _VK_CONTENT.fullmatch(handle):
        return None
    return f"{name}:{handle.removeprefix('@').lower()}"


# --- crypto ---------------------------------------------------------------------------------------

_COIN = re.compile(
    r"(?<![A-Za-z0-9])(?:[13T][1-9A-HJ-NP-Za-km-z]{25,34}|bc1[02-9ac-hj-np-z]{8,87}|BC1[02-9AC-HJ-NP-Z]{8,87}"
    r"|0x[0-9a-fA-F]{40})(?![A-Za-z0-9])"
)


def crypto_address_value(address: str) -> str | None:
    """``bitcoin:``, ``ethereum:`` or ``tron:`` + the address when its checksum holds, else None."""
    if not _COIN.fullmatch(address):
        return None
    if address[:3].lower() == "bc1":
        return f"bitcoin:{address.lower()}" if _is_segwit_address(address) else None
    if address.startswith("0x"):
        return f"ethereum:{address.lower()}" if _is_eip55_address(address[2:]) else None
    payload = _base58check(address)
    if payload is None or len(payload) != 21:
        return None
    if address[0] in "13" and payload[0] == (0x00 if address[0] == "1" else 0x05):
        return f"bitcoin:{address}"
    if address[0] == "T" and len(address) == 34 and payload[0] == 0x41:
        return f"tron:{address}"
    return None


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58check(text: str) -> bytes | None:
    """The payload of a Base58Check string (version byte + data), or None when the checksum fails."""
    number = 0
    for char in text:
        number = number * 58 + _BASE58.index(char)
    zeros = len(text) - len(text.lstrip("1"))  # each leading "1" stands for a leading zero byte
    raw = b"\x00" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")
    payload, checksum = raw[:-4], raw[-4:]
    digest = hashlib.sha256(hashlib.sha256(payload).digest()).digest()
    return payload if len(raw) > 4 and digest[:4] == checksum else None


_BECH32_CHARS = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3
_BECH32_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_polymod(values: Iterable[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_BECH32_GENERATORS):
            if (top >> bit) & 1:
                check ^= generator
    return check


def _is_segwit_address(address: str) -> bool:
    """BIP-173 / BIP-350: a mainnet segwit address whose checksum matches its witness version."""
    address = address.lower()
    if len(address) > 90:
        return False
    data = [_BECH32_CHARS.index(char) for char in address[3:]]
    hrp = [ord(char) >> 5 for char in "bc"] + [0] + [ord(char) & 31 for char in "bc"]
    residue = _bech32_polymod(hrp + data)
    version, program_words = data[0], data[1:-6]
    if version > 16 or residue != (_BECH32_CONST if version == 0 else _BECH32M_CONST):
        return False
    # Regroup the 5-bit words into bytes; padding must be under 5 bits and all zero.
    bits = len(program_words) * 5
    number = 0
    for word in program_words:
        number = number << 5 | word
    if bits % 8 > 4 or number & ((1 << (bits % 8)) - 1):
        return False
    length = bits // 8
    return 2 <= length <= 40 and (version != 0 or length in (20, 32))


def _is_eip55_address(hex_digits: str) -> bool:
    """EIP-55: an all-lower or all-upper address carries no checksum; a mixed-case one must match it."""
    if hex_digits == hex_digits.lower() or hex_digits == hex_digits.upper():
        return True
    digest = _keccak256(hex_digits.lower().encode("ascii")).hex()
    return all(
        char.isdigit() or char.isupper() == (int(nibble, 16) >= 8)
        for char, nibble in zip(hex_digits, digest, strict=False)
    )


def _keccak_round_constants() -> list[int]:
    """The 24 iota constants, from the degree-8 LFSR of the Keccak reference rather than a pasted table."""
    state, bits = 1, []
    for _ in range(7 * 24):
        bits.append(state & 1)
        state <<= 1
        if state & 0x100:
            state ^= 0x171
    return [sum(bits[7 * rnd + j] << ((1 << j) - 1) for j in range(7)) for rnd in range(24)]


def _keccak_rotations() -> list[int]:
    offsets, x, y = [0] * 25, 1, 0
    for t in range(24):
        offsets[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    return offsets


_KECCAK_RC, _KECCAK_ROT, _MASK64 = _keccak_round_constants(), _keccak_rotations(), (1 << 64) - 1


def _rotl(lane: int, shift: int) -> int:
    return ((lane << shift) | (lane >> (64 - shift))) & _MASK64 if shift else lane


def _keccak256(data: bytes, *, padding: int = 0x01) -> bytes:
    """Keccak-256 as Ethereum uses it: the original Keccak padding (0x01), not SHA3-256's (0x06).

    hashlib has SHA3 but no Keccak; with ``padding=0x06`` this is SHA3-256, which the tests compare with
    hashlib to check the permutation.
    """
    rate = 136
    padded = bytearray(data) + bytes([padding]) + bytes(-(len(data) + 1) % rate)
    padded[-1] |= 0x80
    lanes = [0] * 25
    for offset in range(0, len(padded), rate):
        for i in range(rate // 8):
            lanes[i] ^= int.from_bytes(padded[offset + 8 * i : offset + 8 * i + 8], "little")
        for constant in _KECCAK_RC:
            columns = [lanes[x] ^ lanes[x + 5] ^ lanes[x + 10] ^ lanes[x + 15] ^ lanes[x + 20] for x in range(5)]
            for x in range(5):
                mix = columns[(x - 1) % 5] ^ _rotl(columns[(x + 1) % 5], 1)
                for y in range(0, 25, 5):
                    lanes[x + y] ^= mix
            moved = [0] * 25
            for x in range(5):
                for y in range(5):
                    moved[y + 5 * ((2 * x + 3 * y) % 5)] = _rotl(lanes[x + 5 * y], _KECCAK_ROT[x + 5 * y])
            for y in range(0, 25, 5):
                row = moved[y : y + 5]
                for x in range(5):
                    lanes[x + y] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5] & _MASK64)
            lanes[0] ^= constant
    return b"".join(lane.to_bytes(8, "little") for lane in lanes[:4])
