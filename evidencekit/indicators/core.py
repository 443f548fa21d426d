"""Contact indicators in page text and links: what lets an investigator tie many ads to one person.

Kinds: ``phone`` (E.164), ``whatsapp`` (E.164, or a group invite URL), ``telegram`` (``@handle``, E.164 or
an invite URL), ``email`` (lower-cased whole: RFC 5321 discourages case-sensitive mailboxes and no large
provider has them, so the case an ad happens to use must not split one person in two), ``social``
(``platform:handle``), ``upi`` (a UPI ID, lower-cased), ``iban`` (checksum verified, no spaces, upper case),
``crypto`` (``bitcoin:``, ``ethereum:`` or ``tron:`` + address, checksum verified) and ``url`` (every
http(s) URL, normalised). KINDS lists them most specific first: what names one person or one account
(``SPECIFIC_KINDS``), then social handles, then plain URLs.

Share buttons (``wa.me/?text=``, ``t.me/share``, Facebook's sharer, X's intent...) name whoever shares the
page, not its author: they give no indicator at all, not even a URL.

A WhatsApp or Telegram number is reported under its own kind and also as a ``phone``, so one number used
on several channels links up. URLs are read from the text as ASCII only (``https://…``, ``www.…`` and
bare links to the platforms above, which are given ``https://``); an address written in other scripts is
missed rather than glued to the words around it. Pure functions: no I/O, nothing is looked up online.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit, urlunsplit

import phonenumbers

from evidencekit.errors import UsageError, ValidationError
from evidencekit.indicators.crypto import COIN, crypto_address_value
from evidencekit.indicators.payments import iban_candidates, upi_ids, upi_link_value, upi_mobile

KINDS = ("phone", "whatsapp", "telegram", "email", "upi", "iban", "crypto", "social", "url")
SPECIFIC_KINDS = KINDS[:7]  # each names one person's phone, account or wallet
_KIND_RANK = {kind: rank for rank, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Indicator:
    """One indicator: its kind, its normalised value (the key to link on) and the text as found.

    ``site``: found only in the site's furniture, in link text pointing elsewhere, or a URL of the site's
    own host (see ``evidencekit.indicators.page``): the site's, not the author's; never a link by default."""

    kind: str
    value: str
    raw: str
    site: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KIND_RANK:
            raise ValidationError(f"unknown indicator kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if not self.value:
            raise ValidationError(f"a {self.kind} indicator needs a value")

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind, "value": self.value, "raw": self.raw}
        return {**found, "site": True} if self.site else found


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
    # Each pass runs only when the text holds what its kind is made of: most lines of a chat hold no
    # indicator, and the patterns cost far more than these scans.
    masked = list(text)
    has_at, has_digit = _AT_SIGN.search(text) is not None, _DIGIT.search(text) is not None
    if _URL_HINT.search(text):
        found += _text_urls(text, masked, region)
    if has_at or _AT_WORD.search(text):
        found += _emails(text, masked)
    if has_at:
        found += _upi(text, masked)
    if has_digit:
        found += _ibans(text, masked)
    if has_digit or "T" in text:  # a tron address ("T" + 33 base58 characters) may hold no digit
        found += _coins(text, masked)
    blanked = "".join(masked)
    if has_digit:
        found += _phones(text, blanked, region)
    if has_at:
        found += _telegram_mentions(text, blanked)
    for index, link in enumerate(links):
        found += [(len(text) + index, _indicator(kind, value, link)) for kind, value in _from_link(link, region)]
    return _deduplicated(found)


_Found = Iterator[tuple[int, Indicator]]
_AT_SIGN = re.compile(r"[@\uff20]")
_AT_WORD = re.compile(r"(?i)\bat\b")
_DIGIT = re.compile(r"\d")  # any script's digits, as the phone matcher reads them
_URL_HINT = re.compile(r"(?i)/|www\.")


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


def _upi(text: str, masked: list[str]) -> _Found:
    for start, end, value in upi_ids("".join(masked)):
        _blank(masked, start, end)
        yield start, _indicator("upi", value, text[start:end])
        mobile = upi_mobile(value)
        if mobile:
            yield start, _indicator("phone", mobile, text[start:end])


def _ibans(text: str, masked: list[str]) -> _Found:
    for start, end, value in iban_candidates("".join(masked)):
        _blank(masked, start, end)  # a mistyped IBAN is no indicator, and no phone number either
        if value:
            yield start, _indicator("iban", value, text[start:end])


def _coins(text: str, masked: list[str]) -> _Found:
    for match in COIN.finditer(text):
        coin = crypto_address_value(match.group())
        if coin:
            _blank(masked, match.start(), match.end())
            yield match.start(), _indicator("crypto", coin, match.group())


def _phones(text: str, blanked: str, region: str) -> _Found:
    for phone in phonenumbers.PhoneNumberMatcher(blanked, region, leniency=phonenumbers.Leniency.VALID):
        if _labelled_identifier(blanked[max(0, phone.start - 40) : phone.start]):
            continue
        number, raw = _e164(phone.number), text[phone.start : phone.end]
        yield phone.start, _indicator("phone", number, raw)
        # "WhatsApp: +44 ..." makes the number a WhatsApp contact as much as a wa.me link does.
        if _WHATSAPP_WORD.search(blanked[max(0, phone.start - 24) : phone.start]):
            yield phone.start, _indicator("whatsapp", number, raw)


# A number directly after a label naming it an identifier ("Ad ID: 9012345678", "Ref. 9012345678", "Order
# #9012345678", "Invoice no.", "Listing # ...", "Ad no. ...") is that identifier, not a phone, even when its
# digits make a valid number ("order"/"invoice" only with a mark: "to order 98..." is a phone).
# Only labels that never name a phone: "Phone No.", "Tel.", "Mob. No." stay phones, and so
# does "WhatsApp ID:" / "Telegram ID:" and the like (an app's ID written as a number is the phone number).
_ID_LABEL = re.compile(
    r"(?i)(?<![A-Za-z])(?P<label>(?:ad|post|listing|user|profile)[ \t]*id|id|ref\.?|reference"
    r"|(?:order|invoice)(?=[ \t]*(?:id|no\.?|number|#|:))(?:[ \t]*id)?"
    r"|listing[ \t]*(?:#|no\.?|number)|ad[ \t]*(?:#|no\.?|number))"
    r"(?:[ \t]*(?:no\.?|number|#))?[ \t]*[:#.=\-\u2013]?[ \t]*[#(]?[ \t]*$"
)
_APP_BEFORE_ID = re.compile(
    r"(?i)(?:whats[ \t]*app|wa|phone|mobile|mob|tel|telegram|tg|viber|signal|imo|line|skype|wechat)\W{0,3}$"
)


def _labelled_identifier(before: str) -> bool:
    """Whether the text just before a number labels it an identifier (see ``_ID_LABEL``)."""
    label = _ID_LABEL.search(before)
    return label is not None and not _APP_BEFORE_ID.search(before[: label.start()])


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
    elif scheme == "upi":
        payee = parse_qs(urlsplit(link).query).get("pa", [""])[0] if "?" in link else ""
        value = upi_link_value(payee)
        if value:
            yield "upi", value
            mobile = upi_mobile(value)
            if mobile:
                yield "phone", mobile
    elif scheme in ("whatsapp", "tg"):
        try:
            parts = urlsplit(link)
        except ValueError:  # e.g. an unclosed "[" in the authority
            parts = urlsplit("")
        yield from _from_app_link(scheme, parts)
    for match in COIN.finditer(link):
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
    parts = urlsplit(normal)
    host = _platform(parts.hostname or "")
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    query = parse_qs(parts.query)
    if is_share_link(host, segments, query):
        return
    yield "url", normal
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


# host -> first path segments of its share buttons (the page's address handed to whoever shares it)
_SHARE_PATHS: dict[str, frozenset[str]] = {
    "facebook.com": _words("sharer sharer.php share.php dialog"),
    "fb.com": _words("sharer sharer.php share.php dialog"),
    "x.com": _words("intent share"),
    "twitter.com": _words("intent share"),
    "t.me": _words("share"),
    "telegram.me": _words("share"),
    "linkedin.com": _words("sharing shareArticle"),
    "pinterest.com": _words("pin"),
    "reddit.com": _words("submit"),
    "vk.com": _words("share.php"),
    "tumblr.com": _words("share widgets"),
    "line.me": _words("R share"),
}


def is_share_link(host: str, segments: list[str], query: dict[str, list[str]]) -> bool:
    """A share button's link: it carries the page to whoever clicks, and names no one behind the page."""
    first = segments[0] if segments else ""
    if host == "wa.me":
        return not first and bool(query.get("text"))
    if host in ("whatsapp.com", "api.whatsapp.com", "web.whatsapp.com") and first in ("", "send"):
        return not query.get("phone")
    return first in _SHARE_PATHS.get(host, frozenset())


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
