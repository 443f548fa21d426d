"""Cryptocurrency addresses with their checksums: Base58Check (bitcoin P2PKH/P2SH, tron), bech32/bech32m
(bitcoin segwit, BIP-173/350) and EIP-55 (ethereum, with a Keccak-256 of our own: hashlib has none)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

COIN = re.compile(
    r"(?<![A-Za-z0-9])(?:[13T][1-9A-HJ-NP-Za-km-z]{25,34}|bc1[02-9ac-hj-np-z]{8,87}|BC1[02-9AC-HJ-NP-Z]{8,87}"
    r"|0x[0-9a-fA-F]{40})(?![A-Za-z0-9])"
)


def crypto_address_value(address: str) -> str | None:
    """``bitcoin:``, ``ethereum:`` or ``tron:`` + the address when its checksum holds, else None."""
    if not COIN.fullmatch(address):
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
