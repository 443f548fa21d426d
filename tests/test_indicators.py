"""Contact indicators from realistic (invented) recruitment ads in several languages and number formats."""

from __future__ import annotations

import hashlib

import pytest

from evidencekit.errors import UsageError, ValidationError
from evidencekit.indicators import (
    KINDS,
    Indicator,
    _keccak256,
    crypto_address_value,
    extract_indicators,
    normalise_url,
)


def values(indicators: list[Indicator], kind: str) -> list[str]:
    return [indicator.value for indicator in indicators if indicator.kind == kind]


def raw_of(indicators: list[Indicator], kind: str, value: str) -> str:
    return next(i.raw for i in indicators if (i.kind, i.value) == (kind, value))


DOMESTIC_WORK_AD = """\
URGENT!!! Housemaids & nannies needed for families in Dubai and Kuwait. Free visa, free ticket,
salary 1500 USD + accommodation. No experience needed, passport processed by us.
Call Mrs. Grace on (415) 555-0132 or WhatsApp: +44 7911 123456 (24/7).
CV to grace.recruit [at] gmail [dot] com or hr(at)gulf-homes.ae, or Grace.Recruit@Gmail.com.
Telegram: @GulfHomesGrace  -  channel https://t.me/gulfhomes_jobs, also wa.me/919876543210.
See our happy workers: instagram.com/gulf.homes.staff/ and https://www.facebook.com/share/p/1AbCdEf/
Visa processing fee (refundable!) in BTC 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa.
"""


def test_domestic_work_ad_yields_every_contact_channel() -> None:
    found = extract_indicators(DOMESTIC_WORK_AD)
    assert values(found, "phone") == ["+14155550132", "+447911123456", "+919876543210"]
    assert values(found, "whatsapp") == ["+447911123456", "+919876543210"]
    assert values(found, "telegram") == ["@gulfhomesgrace", "@gulfhomes_jobs"]
    # The obfuscated and the plain spelling of Grace's address are one indicator.
    assert values(found, "email") == ["grace.recruit@gmail.com", "hr@gulf-homes.ae"]
    assert raw_of(found, "email", "grace.recruit@gmail.com") == "grace.recruit [at] gmail [dot] com"
    assert raw_of(found, "email", "hr@gulf-homes.ae") == "hr(at)gulf-homes.ae"
    assert values(found, "social") == ["instagram:gulf.homes.staff"]  # the facebook /share/ link is no profile
    assert values(found, "crypto") == ["bitcoin:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"]
    assert values(found, "url") == [
        "https://t.me/gulfhomes_jobs",
        "https://wa.me/919876543210",
        "https://instagram.com/gulf.homes.staff/",
        "https://www.facebook.com/share/p/1AbCdEf/",
    ]
    assert raw_of(found, "phone", "+14155550132") == "(415) 555-0132"
    assert raw_of(found, "whatsapp", "+447911123456") == "+44 7911 123456"
    assert raw_of(found, "telegram", "@gulfhomesgrace") == "Telegram: @GulfHomesGrace"


def test_order_is_by_kind_then_first_appearance_and_pairs_are_unique() -> None:
    found = extract_indicators(DOMESTIC_WORK_AD)
    ranks = [KINDS.index(indicator.kind) for indicator in found]
    assert ranks == sorted(ranks)
    assert len({(i.kind, i.value) for i in found}) == len(found)
    assert extract_indicators(DOMESTIC_WORK_AD) == found  # stable


def test_waitress_ad_in_germany_reads_national_numbers_with_region_de() -> None:
    text = (
        "Kellnerin (m/w/d) für Bar in Berlin-Mitte gesucht, 3.000 € netto, Unterkunft gestellt. "
        "Tel. 030 1234567 oder Handy 0151 23456789, Bewerbung an jobs@bar-mitte.de. "
        "Mehr: http://Bar-Mitte.DE:80/Jobs/#bewerben"
    )
    found = extract_indicators(text, default_region="DE")
    assert values(found, "phone") == ["+49301234567", "+4915123456789"]
    assert values(found, "email") == ["jobs@bar-mitte.de"]
    assert values(found, "url") == ["http://bar-mitte.de/Jobs/"]
    # The same text read as if from the US finds no German numbers: the region matters.
    assert values(extract_indicators(text, default_region="US"), "phone") == []


def test_uk_and_international_formats() -> None:
    text = "Hostess work in London. Ring 07911 123456 or the office +44 20 7946 0958."
    assert values(extract_indicators(text, default_region="GB"), "phone") == ["+447911123456", "+442079460958"]
    assert values(extract_indicators(text, default_region="us"), "phone") == ["+442079460958"]


def test_modelling_ad_in_chinese_with_fullwidth_digits_and_telegram_in_chinese() -> None:
    text = "高薪招聘平面模特，包吃包住。联系电话：１３８００１３８０００，电报@modelagency_cn，邮箱 agent＠163.com谢谢"
    found = extract_indicators(text, default_region="CN")
    assert values(found, "phone") == ["+8613800138000"]
    assert raw_of(found, "phone", "+8613800138000") == "１３８００１３８０００"
    assert values(found, "telegram") == ["@modelagency_cn"]
    assert values(found, "email") == ["agent@163.com"]


def test_hindi_ad_with_devanagari_digits() -> None:
    text = "विदेश में घरेलू काम, अच्छी तनख्वाह। संपर्क करें: +91 ९८७६५ ४३२१० या व्हाट्सएप +91 91234 56789"
    found = extract_indicators(text, default_region="IN")
    assert values(found, "phone") == ["+919876543210", "+919123456789"]
    assert raw_of(found, "phone", "+919876543210") == "+91 ९८७६५ ४३२१०"
    assert values(found, "whatsapp") == ["+919123456789"]


def test_urdu_ad_with_extended_arabic_indic_digits() -> None:
    text = "دبئی میں ڈرائیور اور صفائی کا کام۔ رابطہ کریں: ۰۳۰۰ ۱۲۳۴۵۶۷ یا واٹس ایپ ۰۳۲۱ ۷۶۵۴۳۲۱"
    found = extract_indicators(text, default_region="PK")
    assert values(found, "phone") == ["+923001234567", "+923217654321"]
    assert values(found, "whatsapp") == ["+923217654321"]


def test_arabic_ad_with_arabic_indic_digits() -> None:
    text = "مطلوب نادلات للعمل في فندق بدبي. اتصل ٠٥٠ ١٢٣ ٤٥٦٧ أو واتساب +٩٧١ ٥٥ ٩٨٧ ٦٥٤٣"
    found = extract_indicators(text, default_region="AE")
    assert values(found, "phone") == ["+971501234567", "+971559876543"]
    assert values(found, "whatsapp") == ["+971559876543"]
    assert raw_of(found, "phone", "+971501234567") == "٠٥٠ ١٢٣ ٤٥٦٧"


def test_numbers_inside_urls_addresses_and_ids_are_not_phones() -> None:
    text = (
        "Ref https://example.com/ad/4155550132 mail john4155550132@example.com "
        "wallet 0x52908400098527886E0F7030069857D2E4169EE7 price 1500 USD, 2024-03-15"
    )
    assert values(extract_indicators(text), "phone") == []


@pytest.mark.parametrize(
    "label",
    ["Ad ID:", "Ad ID", "ID:", "Ref.", "Ref", "Reference:", "Order #", "Order No.", "Invoice no.", "Listing #", "Ad #",
     "Ad no.", "Post ID -"],
)  # fmt: skip
def test_a_number_labelled_as_an_identifier_is_not_a_phone(label: str) -> None:
    assert extract_indicators(f"{label} 9012345678", (), "IN") == []
    # The same line goes on with the real contact: that one is still read.
    found = extract_indicators(f"{label} 9012345678. Call 98201 12345", (), "IN")
    assert [(i.kind, i.value) for i in found] == [("phone", "+919820112345")]


@pytest.mark.parametrize(
    "label", ["Phone No.", "Phone no:", "Tel.", "Mob. No.", "Mobile No:", "Contact", "WhatsApp ID:", "To order", "Paid"]
)
def test_a_number_labelled_as_a_phone_stays_a_phone(label: str) -> None:
    found = {(i.kind, i.value) for i in extract_indicators(f"{label} 9012345678", (), "IN")}
    assert ("phone", "+919012345678") in found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("anna.k [at] yahoo [dot] co [dot] uk", "anna.k@yahoo.co.uk"),
        ("ANNA(AT)MAIL.RU", "anna@mail.ru"),
        ("anna{at}mail{dot}ru", "anna@mail.ru"),
        ("anna @ Gmail.Com", "anna@gmail.com"),
        ("anna at gmail dot com", "anna@gmail.com"),
        ("<a>anna_99+jobs@sub.example.org</a>", "anna_99+jobs@sub.example.org"),
    ],
)
def test_obfuscated_emails_are_normalised(text: str, expected: str) -> None:
    assert values(extract_indicators(text), "email") == [expected]


@pytest.mark.parametrize(
    "text",
    ["meet me at hotel.de tomorrow", "call (at) 5pm", "user@localhost", "see https://bob@evil.example/login"],
)
def test_things_that_only_look_like_emails_are_not(text: str) -> None:
    assert values(extract_indicators(text), "email") == []


def test_whatsapp_and_telegram_links() -> None:
    text = (
        "Join chat.whatsapp.com/KxYz1234567890AbCd or api.whatsapp.com/send?phone=919876543210&text=hi "
        "and https://web.whatsapp.com/send?phone=+971501234567. Telegram t.me/+AbCdEfGhIjKl123, "
        "t.me/joinchat/AbCdEfGhIjKl123 (same group), t.me/s/newsfeed, telegram.me/Anna_Jobs, "
        "https://t.me/+447911123456, t.me/share/url?url=x, @anna_model on Telegram"
    )
    found = extract_indicators(text)
    assert values(found, "whatsapp") == [
        "https://chat.whatsapp.com/KxYz1234567890AbCd",
        "+919876543210",
        "+971501234567",
    ]
    assert values(found, "telegram") == [
        "https://t.me/+AbCdEfGhIjKl123",
        "@newsfeed",
        "@anna_jobs",
        "+447911123456",
        "@anna_model",
    ]
    assert values(found, "phone") == ["+919876543210", "+971501234567", "+447911123456"]


def test_social_profiles_and_non_profile_paths() -> None:
    text = (
        "instagram.com/p/Cabc123/ instagram.com/reel/xyz https://www.instagram.com/Anna.Models?igsh=1 "
        "instagram.com/stories/anna.ig/123 https://m.facebook.com/Anna.Smith.99 "
        "https://www.facebook.com/profile.php?id=100012345678 facebook.com/sharer/sharer.php?u=x "
        "https://x.com/intent/tweet?text=hi https://twitter.com/AnnaJobs x.com/AnnaJobs "
        "https://www.tiktok.com/@anna.dance?lang=en tiktok.com/tag/jobs vk.com/id12345 vk.com/wall-1_2 "
        "vk.com/share.php?url=x notinstagram.com/anna"
    )
    assert values(extract_indicators(text), "social") == [
        "instagram:anna.models",
        "instagram:anna.ig",
        "facebook:anna.smith.99",
        "facebook:100012345678",
        "x:annajobs",
        "tiktok:anna.dance",
        "vk:id12345",
    ]


def test_links_from_the_page_are_read_by_scheme() -> None:
    links = [
        "mailto:Grace.Recruit@Gmail.COM?subject=CV",
        "mailto:a@b.example,C@D.EXAMPLE",
        "tel:+1-415-555-0132",
        "tel:030%201234567",
        "whatsapp://send?phone=%2B447911123456",
        "tg://resolve?domain=Anna_Jobs",
        "tg://join?invite=AbCdEfGhIjKl123",
        "bitcoin:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4?amount=0.1",
        "https://blockchair.com/bitcoin/address/1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        "javascript:alert(1)",
        "/relative/path",
        "tg://[broken?domain=nobody",
        "http://[broken",
    ]
    found = extract_indicators("", links, default_region="DE")
    assert values(found, "email") == ["grace.recruit@gmail.com", "a@b.example", "c@d.example"]
    assert values(found, "phone") == ["+14155550132", "+49301234567", "+447911123456"]
    assert values(found, "whatsapp") == ["+447911123456"]
    assert values(found, "telegram") == ["@anna_jobs", "https://t.me/+AbCdEfGhIjKl123"]
    assert values(found, "crypto") == [
        "bitcoin:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "bitcoin:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    ]
    assert values(found, "url") == ["https://blockchair.com/bitcoin/address/1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"]
    assert raw_of(found, "phone", "+14155550132") == "tel:+1-415-555-0132"


def test_duplicates_across_text_and_links_keep_the_first_raw() -> None:
    text = "WhatsApp +44 7911 123456 or wa.me/447911123456, again +44 (0)7911 123456. Mail A@X.ORG, a@x.org"
    links = ["https://wa.me/447911123456", "mailto:a@x.org", "https://WA.ME/447911123456#top"]
    found = extract_indicators(text, links)
    assert [(i.kind, i.value, i.raw) for i in found] == [
        ("phone", "+447911123456", "+44 7911 123456"),
        ("whatsapp", "+447911123456", "+44 7911 123456"),
        ("email", "a@x.org", "A@X.ORG"),
        ("url", "https://wa.me/447911123456", "wa.me/447911123456"),
    ]


# --- crypto ---------------------------------------------------------------------------------------

VALID_ADDRESSES = {
    # The Bitcoin genesis block's address (P2PKH) and the Bitcoin wiki's P2SH example.
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa": "bitcoin:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy": "bitcoin:3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    # BIP-173 / BIP-350 valid segwit addresses (v0 bech32, upper case; v1 taproot and v16 bech32m).
    "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4": "bitcoin:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0": (
        "bitcoin:bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
    ),
    "BC1SW50QGDZ25J": "bitcoin:bc1sw50qgdz25j",
    "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs": "bitcoin:bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
    # The USDT contract on Tron.
    "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t": "tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    # EIP-55 test vectors: all caps, all lower, and mixed-case checksummed.
    "0x52908400098527886E0F7030069857D2E4169EE7": "ethereum:0x52908400098527886e0f7030069857d2e4169ee7",
    "0xde709f2102306220921060314715629080e2fb77": "ethereum:0xde709f2102306220921060314715629080e2fb77",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed": "ethereum:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359": "ethereum:0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB": "ethereum:0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb": "ethereum:0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb",
}

INVALID_ADDRESSES = [
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",  # genesis address, last character changed
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN",  # one character short
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",  # checksum broken
    # BIP-173's v1 example: valid bech32, but BIP-350 requires bech32m for witness v1.
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
    "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",  # BIP-350 invalid: v2 with a bech32 checksum
    "bc1gmk9yu",  # BIP-350 invalid: empty data section
    "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",  # EIP-55 case of the last letter wrong
    "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "hello",
]


@pytest.mark.parametrize(("address", "expected"), sorted(VALID_ADDRESSES.items()))
def test_valid_crypto_addresses(address: str, expected: str) -> None:
    assert crypto_address_value(address) == expected
    found = extract_indicators(f"Pay the agency fee to {address}.")
    assert values(found, "crypto") == [expected]


@pytest.mark.parametrize("address", INVALID_ADDRESSES)
def test_addresses_with_bad_checksums_are_not_reported(address: str) -> None:
    assert crypto_address_value(address) is None
    assert values(extract_indicators(f"Pay the agency fee to {address}."), "crypto") == []


def test_addresses_glued_to_other_letters_are_not_read() -> None:
    assert values(extract_indicators("x1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"), "crypto") == []


def test_keccak256_known_answers_and_permutation_against_hashlib_sha3() -> None:
    assert _keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert _keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    for size in (0, 1, 135, 136, 137, 272, 1000):  # around the 136-byte rate: one, two and more blocks
        data = bytes(range(256)) * 4
        assert _keccak256(data[:size], padding=0x06) == hashlib.sha3_256(data[:size]).digest()


# --- the record itself ----------------------------------------------------------------------------


def test_indicator_is_validated_and_serialises() -> None:
    indicator = Indicator("phone", "+14155550132", "(415) 555-0132")
    assert indicator.to_dict() == {"kind": "phone", "value": "+14155550132", "raw": "(415) 555-0132"}
    with pytest.raises(ValidationError, match="unknown indicator kind"):
        Indicator("fax", "+1", "")
    with pytest.raises(ValidationError):
        Indicator("email", "", "")


def test_unknown_region_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown phone region"):
        extract_indicators("call 07911 123456", default_region="XX")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM", "https://www.example.com/"),
        ("https://example.com:443/a/B?q=1#frag", "https://example.com/a/B?q=1"),
        ("http://example.com:8080", "http://example.com:8080/"),
        ("http://[::1]:8080/a#b", "http://[::1]:8080/a"),
        ("https://user@Example.com/", "https://user@example.com/"),
        ("ftp://example.com/", None),
        ("http://example.com:port/", None),
        ("https:///path-only", None),
    ],
)
def test_normalise_url(url: str, expected: str | None) -> None:
    assert normalise_url(url) == expected


def test_url_punctuation_and_brackets_belong_to_the_prose() -> None:
    text = "(see https://en.wikipedia.org/wiki/Foo_(bar)), or www.example.org/jobs. Or https://x.example/a?b=1!"
    assert values(extract_indicators(text), "url") == [
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "https://www.example.org/jobs",
        "https://x.example/a?b=1",
    ]


@pytest.mark.timeout(60)
def test_hostile_text_is_handled_in_reasonable_time() -> None:
    hostile = "https://x.example/" + ")" * 100_000 + " " + "a." * 200_000 + " [at] " * 20_000 + "1" * 200_000
    found = extract_indicators(hostile)
    assert values(found, "url") == ["https://x.example/"]


def test_ofcom_drama_numbers_are_not_valid_numbers_and_are_not_reported() -> None:
    # 07700 900000-900999 is reserved by Ofcom for fiction; libphonenumber (rightly) calls it invalid.
    assert values(extract_indicators("Call 07700 900123", default_region="GB"), "phone") == []
