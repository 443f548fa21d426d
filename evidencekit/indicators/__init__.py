"""Contact and payment indicators: what lets an investigator tie many ads, chats and files to one person.

``core`` reads them from text and links; ``page`` tells a page's author's indicators from its site's
furniture; ``files`` reads the text of added files (plain text, HTML, JSON, chat exports, PDF) line by line.
Pure functions: nothing is looked up online.
"""

from evidencekit.indicators.core import (
    KINDS,
    SPECIFIC_KINDS,
    Indicator,
    extract_indicators,
    is_share_link,
    normalise_url,
)
from evidencekit.indicators.crypto import _keccak256, crypto_address_value
from evidencekit.indicators.files import FILE_TEXT_LIMIT, file_text, indicators_in_lines
from evidencekit.indicators.page import page_indicators
from evidencekit.indicators.payments import UPI_HANDLES, iban_check

__all__ = [
    "FILE_TEXT_LIMIT",
    "KINDS",
    "SPECIFIC_KINDS",
    "UPI_HANDLES",
    "Indicator",
    "_keccak256",
    "crypto_address_value",
    "extract_indicators",
    "file_text",
    "iban_check",
    "indicators_in_lines",
    "is_share_link",
    "normalise_url",
    "page_indicators",
]
