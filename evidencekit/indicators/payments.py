"""Payment identifiers: UPI IDs (India's Unified Payments Interface) and IBANs (ISO 13616).

A UPI ID is ``handle@psp``: the part after ``@`` names the payment app or bank and has no dot, which is
what tells it from an e-mail address. In running text ``name@word`` is also a social mention, a typo or a
mail address cut short, so a UPI ID is read only with a PSP handle from ``UPI_HANDLES`` (the handles NPCI
lists for the large apps and banks); in a ``upi://pay?pa=...`` link, which names a payee by definition,
any handle is accepted. IDs are compared lower-cased (UPI resolves them without regard to case). A UPI ID
whose handle part is a ten-digit Indian mobile number is that number's UPI ID by construction (the apps
make it so), and that number is reported as a phone too.

An IBAN is read with its country's length and only when its mod-97 check holds; spaced groups are
accepted and the value is the IBAN without spaces, upper case (one written in lower case is read too when its
check holds). A candidate of the right length whose check
fails is no indicator, but its digits are still kept from being read as a phone number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


UPI_HANDLES = _words(
    # PhonePe, Google Pay, Paytm, Amazon Pay, BHIM, WhatsApp Pay, MobiKwik, Freecharge, CRED, Jupiter, Navi
    "ybl ibl axl okaxis okhdfcbank okicici oksbi paytm ptyes ptaxis pthdfc ptsbi apl yapl rapl upi"
    " waaxis wahdfcbank waicici wasbi ikwik freecharge axisbank axisb icici hdfcbank sbi kotak kmbl"
    " yesbank yesbankltd idfcbank idfcfirst indus pnb barodampay unionbankofindia uboi unionbank cnrb"
    " boi cboi centralbank dbs federal fbl aubank rbl sib kbl kvb equitas dlb jsb abfspay axisbank"
    " airtel jupiteraxis naviaxis superyes tapicici yesg pingpay timecosmos ibkpl hsbc citi citigold"
    " sc idbi iob indianbank allbank andb mahb psb ucobank vijb utbi csbpay dcb nsdl jio"
)
_UPI_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9._%+@-])(?P<handle>[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?)"
    r"@(?P<psp>[A-Za-z]{2,32})(?![A-Za-z0-9_@-]|\.[A-Za-z0-9])"
)
_UPI_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?@[A-Za-z][A-Za-z0-9]{1,63}")
_MOBILE_HANDLE = re.compile(r"(?:\+?91)?([6-9][0-9]{9})")


def upi_ids(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, value) of each UPI ID with a known PSP handle in ``text``."""
    for match in _UPI_IN_TEXT.finditer(text):
        if match.group("psp").lower() in UPI_HANDLES:
            yield match.start(), match.end(), match.group().lower()


def upi_link_value(payee: str) -> str | None:
    """The UPI ID of a ``upi://pay`` link's ``pa`` parameter (any PSP handle), if it is one."""
    payee = payee.strip()
    return payee.lower() if _UPI_ID.fullmatch(payee) else None


def upi_mobile(value: str) -> str | None:
    """The Indian mobile number (E.164) a UPI ID is made of, such as ``9820112345@ybl``, if it is one."""
    match = _MOBILE_HANDLE.fullmatch(value.split("@", 1)[0])
    return f"+91{match.group(1)}" if match else None


# ISO 13616 registry: the length of each country's IBAN (SWIFT's IBAN registry, release 2024).
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])(?P<country>[A-Za-z]{2})[0-9]{2}")
_GAP = " \u00a0"  # groups are written with spaces (a no-break space where typeset)


def iban_candidates(text: str) -> Iterator[tuple[int, int, str | None]]:
    """(start, end, value) of each IBAN-shaped run in ``text``: value is the IBAN (no spaces, upper case)
    when its mod-97 check holds, None when the length is right but the check fails. An IBAN typed in lower
    (or mixed) case is read too, but only when its check holds: a lower-case run that fails it is ordinary
    text (a word and digits), not a mistyped IBAN."""
    for match in _IBAN_START.finditer(text):
        length = _IBAN_LENGTHS.get(match.group("country").upper())
        if length is None:
            continue
        chars, position = [*match.group()], match.end()
        while len(chars) < length and position < len(text):
            char = text[position]
            if (
                char in _GAP
                and position + 1 < len(text)
                and text[position + 1].isascii()
                and text[position + 1].isalnum()
            ):
                position += 1  # one space between groups, never two
                continue
            if not (char.isascii() and char.isalnum()):
                break
            chars.append(char)
            position += 1
        if len(chars) != length or (position < len(text) and text[position].isascii() and text[position].isalnum()):
            continue
        written = "".join(chars)
        value = written.upper()
        good = iban_check(value)
        if good or written == value:
            yield match.start(), position, value if good else None


def iban_check(iban: str) -> bool:
    """ISO 13616 / ISO 7064 mod 97-10: the country and check digits moved to the end, letters as 10..35."""
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", iban) or _IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    digits = "".join(str(int(char, 36)) for char in iban[4:] + iban[:4])
    return int(digits) % 97 == 1
