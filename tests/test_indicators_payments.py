"""Payment identifiers: UPI IDs told from e-mail addresses, IBANs held to their mod-97 check, and the
order of kinds (most specific first); share buttons give no indicator."""

from __future__ import annotations

import hashlib

import pytest

from evidencekit.indicators import KINDS, SPECIFIC_KINDS, extract_indicators, iban_check


def found(text: str, links: tuple[str, ...] = (), region: str = "IN") -> set[tuple[str, str]]:
    return {(i.kind, i.value) for i in extract_indicators(text, links, region)}


def test_kinds_are_ranked_most_specific_first() -> None:
    assert KINDS == ("phone", "whatsapp", "telegram", "email", "upi", "iban", "crypto", "social", "url")
    assert SPECIFIC_KINDS == ("phone", "whatsapp", "telegram", "email", "upi", "iban", "crypto")


def test_upi_ids_are_read_and_told_from_email_addresses() -> None:
    text = (
        "Advance only by UPI: Priya.Bookings@okaxis or 9820112345@ybl (PhonePe). "
        "Mail priya.b@gmail.com, not priya@okaxis.com. Meet me @home; john@work is not a payee."
    )
    indicators = found(text)
    assert ("upi", "priya.bookings@okaxis") in indicators  # lower-cased: UPI resolves without case
    assert ("upi", "9820112345@ybl") in indicators
    # A UPI ID made of a mobile number is that number's: it links with the WhatsApp of another ad.
    assert ("phone", "+919820112345") in indicators
    assert ("email", "priya.b@gmail.com") in indicators and ("email", "priya@okaxis.com") in indicators
    assert not {value for kind, value in indicators if kind == "upi"} - {"priya.bookings@okaxis", "9820112345@ybl"}


def test_upi_link_names_its_payee_with_any_handle() -> None:
    indicators = found("", ("upi://pay?pa=Shop.Name@newbank&pn=Shop&am=500",))
    assert indicators == {("upi", "shop.name@newbank")}


def test_iban_with_a_good_checksum_spaced_or_not() -> None:
    spaced = extract_indicators("Pay the deposit to IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX.")
    assert [(i.kind, i.value, i.raw) for i in spaced] == [
        ("iban", "DE89370400440532013000", "DE89 3704 0044 0532 0130 00")
    ]
    assert found("GB82WEST12345698765432") == {("iban", "GB82WEST12345698765432")}
    assert iban_check("GB82WEST12345698765432") and iban_check("DE89370400440532013000")


def test_iban_written_in_lower_case_is_read_when_its_check_holds() -> None:
    typed = extract_indicators("send to gb82west12345698765432 today", (), "GB")
    assert [(i.kind, i.value, i.raw) for i in typed] == [("iban", "GB82WEST12345698765432", "gb82west12345698765432")]
    assert found("iban de89 3704 0044 0532 0130 00", region="DE") == {("iban", "DE89370400440532013000")}
    # A lower-case run that fails the check is plain text: nothing, and its digits are read as usual.
    assert found("gb82west12345698765431", region="GB") == set()


def test_iban_with_a_bad_checksum_is_no_indicator_and_no_phone() -> None:
    assert not iban_check("DE88370400440532013000")
    assert found("IBAN DE88 3704 0044 0532 0130 00 please", region="DE") == set()
    assert found("GB82WEST1234569876543", region="GB") == set()  # one character short for GB


@pytest.mark.parametrize(
    "link",
    [
        "https://wa.me/?text=See%20this%20ad",
        "https://api.whatsapp.com/send?text=hello",
        "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fexample.org%2Fad",
        "https://twitter.com/intent/tweet?text=ad",
        "https://x.com/intent/post?text=ad",
        "https://t.me/share/url?url=https%3A%2F%2Fexample.org%2Fad",
        "https://www.linkedin.com/sharing/share-offsite/?url=x",
    ],
)
def test_share_buttons_give_no_indicator(link: str) -> None:
    assert found("", (link,)) == set()


def test_click_to_chat_with_a_number_is_no_share_button() -> None:
    indicators = found("", ("https://api.whatsapp.com/send?phone=919820112345&text=hi",))
    assert ("whatsapp", "+919820112345") in indicators


def _base58check(payload: bytes) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, text = int.from_bytes(raw, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = alphabet[digit] + text
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + text


def test_a_tron_address_without_any_digit_is_still_read() -> None:
    # About one tron address in 260 holds no digit: the quick pre-checks must not skip it.
    address = next(
        a
        for n in range(100_000)
        if not any(
            (a := _base58check(b"\x41" + hashlib.sha256(str(n).encode()).digest()[:20])).count(d) for d in "123456789"
        )
    )
    assert found(f"USDT on tron to {address} only") == {("crypto", f"tron:{address}")}
