"""RFC 9162 / RFC 6962 Merkle tree: reference vectors, rejected proofs, a reference-model property test."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import blake3
import pytest

from evidencekit.errors import ValidationError
from evidencekit.ledger.merkle import (
    HashFn,
    MerkleTree,
    empty_root,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def blake2b_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def blake2b_512(data: bytes) -> bytes:
    return hashlib.blake2b(data).digest()


def blake3_256(data: bytes) -> bytes:
    return blake3.blake3(data).digest()


def h(hex_digest: str) -> bytes:
    return bytes.fromhex(hex_digest)


# ---------------------------------------------------------------------------------------------------------
# Reference vectors of the Certificate Transparency implementations, SHA-256:
#   google/certificate-transparency, cpp/merkletree/merkle_tree_test.cc (kInputs, kSHA256Roots,
#   kSHA256Paths, kSHA256Proofs), and transparency-dev/merkle, proof/verify_test.go (the same values plus
#   the consistency proof 6 -> 7). Those files number leaves from 1; the indices below are 0-based.
# ---------------------------------------------------------------------------------------------------------
REFERENCE_ENTRIES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

EMPTY_ROOT_SHA256 = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

# REFERENCE_ROOTS[n] is the root of the tree over the first n entries.
REFERENCE_ROOTS = [
    EMPTY_ROOT_SHA256,
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (index, tree size, audit path)
REFERENCE_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# (old size, new size, consistency proof)
REFERENCE_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def reference_tree() -> MerkleTree:
    return MerkleTree(sha256, [leaf_hash(sha256, e) for e in REFERENCE_ENTRIES])


# ---------------------------------------------------------------------------------------------------------
# A deliberately naive model: the recursive definitions of RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1, written
# straight from the text over lists of leaf hashes, to cross-check the cached tree.
# ---------------------------------------------------------------------------------------------------------
def split_point(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_root(hash_fn: HashFn, leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return hash_fn(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return hash_fn(b"\x01" + naive_root(hash_fn, leaves[:k]) + naive_root(hash_fn, leaves[k:]))


def naive_path(hash_fn: HashFn, index: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = split_point(len(leaves))
    if index < k:
        return [*naive_path(hash_fn, index, leaves[:k]), naive_root(hash_fn, leaves[k:])]
    return [*naive_path(hash_fn, index - k, leaves[k:]), naive_root(hash_fn, leaves[:k])]


def naive_subproof(hash_fn: HashFn, m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [naive_root(hash_fn, leaves)]
    k = split_point(n)
    if m <= k:
        return [*naive_subproof(hash_fn, m, leaves[:k], complete), naive_root(hash_fn, leaves[k:])]
    return [*naive_subproof(hash_fn, m - k, leaves[k:], False), naive_root(hash_fn, leaves[:k])]


def numbered_leaves(hash_fn: HashFn, count: int) -> list[bytes]:
    return [leaf_hash(hash_fn, i.to_bytes(4, "big")) for i in range(count)]


# ---------------------------------------------------------------------------------------------------------
# Corruptions a verifier must refuse, in the spirit of the CT verifier tests. "size + 1" is not among them
# on purpose: see test_a_proof_does_not_by_itself_fix_the_tree_size.
# ---------------------------------------------------------------------------------------------------------
def flip_bit(value: bytes, bit: int = 3) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


def corrupted_inclusion(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes
) -> list[tuple[str, tuple[int, int, bytes, list[bytes], bytes]]]:
    probes = [
        ("index - 1", (index - 1, size, leaf, proof, root)),
        ("index + 1", (index + 1, size, leaf, proof, root)),
        ("index ^ 2", (index ^ 2, size, leaf, proof, root)),
        ("size * 2", (index, size * 2, leaf, proof, root)),
        ("size // 2", (index, size // 2, leaf, proof, root)),
        ("wrong leaf", (index, size, sha256(b"WrongLeaf"), proof, root)),
        ("short leaf", (index, size, b"WrongLeaf", proof, root)),
        ("empty-tree root", (index, size, leaf, proof, EMPTY_ROOT_SHA256)),
        ("another root", (index, size, leaf, proof, SOME_HASH)),
        ("flipped root", (index, size, leaf, proof, flip_bit(root))),
        ("trailing empty element", (index, size, leaf, [*proof, b""], root)),
        ("trailing root", (index, size, leaf, [*proof, root], root)),
        ("preceding empty element", (index, size, leaf, [b"", *proof], root)),
        ("preceding root", (index, size, leaf, [root, *proof], root)),
    ]
    for i in range(len(proof)):
        altered = list(proof)
        altered[i] = flip_bit(altered[i])
        probes.append((f"proof[{i}] bit flipped", (index, size, leaf, altered, root)))
        probes.append(
            (f"proof[{i}] cut short", (index, size, leaf, [*proof[:i], proof[i][:-1], *proof[i + 1 :]], root))
        )
    if proof:
        probes.append(("last element removed", (index, size, leaf, proof[:-1], root)))
        probes.append(("first element removed", (index, size, leaf, proof[1:], root)))
    if len(proof) > 1:
        probes.append(("element inserted", (index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root)))
        probes.append(("order reversed", (index, size, leaf, proof[::-1], root)))
    return probes


def corrupted_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> list[tuple[str, tuple[int, int, bytes, bytes, list[bytes]]]]:
    probes = [
        ("old size - 1", (old_size - 1, new_size, old_root, new_root, proof)),
        ("old size + 1", (old_size + 1, new_size, old_root, new_root, proof)),
        ("old size ^ 2", (old_size ^ 2, new_size, old_root, new_root, proof)),
        ("new size * 2", (old_size, new_size * 2, old_root, new_root, proof)),
        ("new size // 2", (old_size, new_size // 2, old_root, new_root, proof)),
        ("sizes swapped", (new_size, old_size, old_root, new_root, proof)),
        ("short old root", (old_size, new_size, b"WrongRoot", new_root, proof)),
        ("short new root", (old_size, new_size, old_root, b"WrongRoot", proof)),
        ("flipped old root", (old_size, new_size, flip_bit(old_root), new_root, proof)),
        ("flipped new root", (old_size, new_size, old_root, flip_bit(new_root), proof)),
        ("roots swapped", (old_size, new_size, new_root, old_root, proof)),
        ("empty proof", (old_size, new_size, old_root, new_root, [])),
        ("trailing empty element", (old_size, new_size, old_root, new_root, [*proof, b""])),
        ("trailing old root", (old_size, new_size, old_root, new_root, [*proof, old_root])),
        ("trailing new root", (old_size, new_size, old_root, new_root, [*proof, new_root])),
        ("preceding empty element", (old_size, new_size, old_root, new_root, [b"", *proof])),
        ("preceding old root", (old_size, new_size, old_root, new_root, [old_root, *proof])),
        ("preceding new root", (old_size, new_size, old_root, new_root, [new_root, *proof])),
        ("proof[0] repeated", (old_size, new_size, old_root, new_root, [proof[0], *proof])),
        ("last element removed", (old_size, new_size, old_root, new_root, proof[:-1])),
        ("first element removed", (old_size, new_size, old_root, new_root, proof[1:])),
    ]
    for i in range(len(proof)):
        altered = list(proof)
        altered[i] = flip_bit(altered[i], 4)
        probes.append((f"proof[{i}] bit flipped", (old_size, new_size, old_root, new_root, altered)))
    if len(proof) > 1:
        probes.append(("order reversed", (old_size, new_size, old_root, new_root, proof[::-1])))
    return probes


def accepted_inclusion_probes(
    hash_fn: HashFn, index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes
) -> list[str]:
    return [
        name for name, args in corrupted_inclusion(index, size, leaf, proof, root) if verify_inclusion(hash_fn, *args)
    ]


def accepted_consistency_probes(
    hash_fn: HashFn, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> list[str]:
    return [
        name
        for name, args in corrupted_consistency(old_size, new_size, old_root, new_root, proof)
        if verify_consistency(hash_fn, *args)
    ]


# ---------------------------------------------------------------------------------------------------------
# Reference vectors
# ---------------------------------------------------------------------------------------------------------
def test_leaf_and_node_hashes_use_the_rfc_domain_prefixes() -> None:
    assert leaf_hash(sha256, b"") == REFERENCE_ROOTS[1] == sha256(b"\x00")
    assert node_hash(sha256, b"L", b"R") == sha256(b"\x01LR")
    assert empty_root(sha256) == EMPTY_ROOT_SHA256


def test_roots_match_the_reference_vectors_at_every_size() -> None:
    tree = reference_tree()
    assert tree.size == len(tree) == 8
    assert tree.root() == REFERENCE_ROOTS[8]
    for size, expected in enumerate(REFERENCE_ROOTS):
        assert tree.root(size) == expected, f"size {size}"


def test_roots_match_the_reference_vectors_while_the_tree_grows_leaf_by_leaf() -> None:
    tree = MerkleTree(sha256)
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT_SHA256
    for count, entry in enumerate(REFERENCE_ENTRIES, start=1):
        tree.append(leaf_hash(sha256, entry))
        assert tree.size == count
        assert tree.root() == REFERENCE_ROOTS[count]
        # Earlier roots stay what they were: appending never rewrites history.
        assert [tree.root(n) for n in range(count + 1)] == REFERENCE_ROOTS[: count + 1]


@pytest.mark.parametrize(("index", "size", "expected"), REFERENCE_INCLUSION)
def test_inclusion_proofs_match_the_reference_vectors(index: int, size: int, expected: list[bytes]) -> None:
    tree = reference_tree()
    proof = tree.inclusion_proof(index, size)
    assert proof == expected
    leaf = leaf_hash(sha256, REFERENCE_ENTRIES[index])
    assert tree.leaf(index) == leaf
    assert verify_inclusion(sha256, index, size, leaf, expected, REFERENCE_ROOTS[size])


@pytest.mark.parametrize(("old_size", "new_size", "expected"), REFERENCE_CONSISTENCY)
def test_consistency_proofs_match_the_reference_vectors(old_size: int, new_size: int, expected: list[bytes]) -> None:
    tree = reference_tree()
    assert tree.consistency_proof(old_size, new_size) == expected
    assert verify_consistency(
        sha256, old_size, new_size, REFERENCE_ROOTS[old_size], REFERENCE_ROOTS[new_size], expected
    )


def test_default_sizes_are_the_whole_tree() -> None:
    tree = reference_tree()
    assert tree.inclusion_proof(5) == tree.inclusion_proof(5, 8)
    assert tree.consistency_proof(6) == tree.consistency_proof(6, 8)


# ---------------------------------------------------------------------------------------------------------
# Proofs that must be rejected
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("index", "size", "proof"), [v for v in REFERENCE_INCLUSION if v[2]])
def test_altered_reference_inclusion_proofs_are_rejected(index: int, size: int, proof: list[bytes]) -> None:
    leaf = leaf_hash(sha256, REFERENCE_ENTRIES[index])
    assert accepted_inclusion_probes(sha256, index, size, leaf, proof, REFERENCE_ROOTS[size]) == []


@pytest.mark.parametrize(("old_size", "new_size", "proof"), [v for v in REFERENCE_CONSISTENCY if v[2]])
def test_altered_reference_consistency_proofs_are_rejected(old_size: int, new_size: int, proof: list[bytes]) -> None:
    old_root, new_root = REFERENCE_ROOTS[old_size], REFERENCE_ROOTS[new_size]
    assert accepted_consistency_probes(sha256, old_size, new_size, old_root, new_root, proof) == []


def test_a_proof_does_not_by_itself_fix_the_tree_size() -> None:
    # In trees of 5 and 6 leaves, leaf 1's path runs through the same left subtree of 4 leaves, and the
    # verifier's arithmetic for both sizes is identical: the same hashes "prove" inclusion under either
    # size against the same root. A root means something only with the size it was signed with, which is
    # why the checkpoint signs (size, root) together and the verifier takes the size from it.
    leaves = numbered_leaves(sha256, 6)
    five = MerkleTree(sha256, leaves[:5])
    proof, root = five.inclusion_proof(1), five.root()
    assert verify_inclusion(sha256, 1, 5, leaves[1], proof, root)
    assert verify_inclusion(sha256, 1, 6, leaves[1], proof, root)
    assert root != MerkleTree(sha256, leaves).root()


def test_single_leaf_inclusion_needs_the_leaf_to_be_the_root() -> None:
    leaf = leaf_hash(sha256, b"data")
    assert verify_inclusion(sha256, 0, 1, leaf, [], leaf)
    assert not verify_inclusion(sha256, 0, 1, leaf, [], b"")
    assert not verify_inclusion(sha256, 0, 1, b"", [], leaf)
    assert not verify_inclusion(sha256, 0, 1, b"", [], b"")
    assert not verify_inclusion(sha256, 0, 1, leaf, [], SOME_HASH)
    assert not verify_inclusion(sha256, 0, 1, leaf, [leaf], leaf)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (1, 1), (2, 1), (8, 8), (-1, 8), (0, -1)])
def test_inclusion_with_index_outside_the_tree_is_rejected(index: int, size: int) -> None:
    for leaf, root in [(SOME_HASH, b""), (b"", EMPTY_ROOT_SHA256), (SOME_HASH, EMPTY_ROOT_SHA256)]:
        assert not verify_inclusion(sha256, index, size, leaf, [], root)


def test_inclusion_verifier_returns_false_on_malformed_input_instead_of_raising() -> None:
    tree = reference_tree()
    leaf, root, proof = tree.leaf(5), tree.root(), tree.inclusion_proof(5)
    assert verify_inclusion(sha256, 5, 8, leaf, proof, root)
    malformed: list[tuple[object, ...]] = [
        (True, 8, leaf, proof, root),
        (5, 8.0, leaf, proof, root),
        ("5", 8, leaf, proof, root),
        (None, 8, leaf, proof, root),
        (5, 8, leaf.hex(), proof, root),
        (5, 8, leaf, proof, root.hex()),
        (5, 8, leaf, None, root),
        (5, 8, leaf, 42, root),
        (5, 8, leaf, b"".join(proof), root),
        (5, 8, leaf, [p.hex() for p in proof], root),
        (5, 8, leaf, [*proof[:2], None], root),
        (5, 8, leaf, [bytearray(p) for p in proof], root),
        (5, 2**70, leaf, proof, root),
    ]
    for args in malformed:
        assert verify_inclusion(sha256, *args) is False, args  # type: ignore[arg-type]


def test_consistency_trivial_cases_are_strict() -> None:
    tree = reference_tree()
    r1, r8 = tree.root(1), tree.root(8)
    # From the empty tree: nothing to prove, but the old root must be the empty-tree hash.
    assert verify_consistency(sha256, 0, 0, EMPTY_ROOT_SHA256, EMPTY_ROOT_SHA256, [])
    assert verify_consistency(sha256, 0, 8, EMPTY_ROOT_SHA256, r8, [])
    assert not verify_consistency(sha256, 0, 8, r1, r8, [])
    assert not verify_consistency(sha256, 0, 0, EMPTY_ROOT_SHA256, r1, [])
    assert not verify_consistency(sha256, 0, 8, EMPTY_ROOT_SHA256, r8, [EMPTY_ROOT_SHA256])
    # Equal sizes: equal roots and an empty proof.
    assert verify_consistency(sha256, 8, 8, r8, r8, [])
    assert not verify_consistency(sha256, 8, 8, r1, r8, [])
    assert not verify_consistency(sha256, 1, 1, EMPTY_ROOT_SHA256, r1, [])
    assert not verify_consistency(sha256, 8, 8, r8, r8, [r8])
    assert not verify_consistency(sha256, 1, 1, r1, r1, [EMPTY_ROOT_SHA256])
    # Time travel to the past.
    assert not verify_consistency(sha256, 1, 0, r1, EMPTY_ROOT_SHA256, [])
    assert not verify_consistency(sha256, 8, 1, r8, r1, tree.consistency_proof(1, 8))
    # A proof is needed and none was given.
    assert not verify_consistency(sha256, 1, 2, r1, tree.root(2), [])
    assert not verify_consistency(sha256, 1, 8, r1, r8, [])


def test_consistency_verifier_returns_false_on_malformed_input_instead_of_raising() -> None:
    tree = reference_tree()
    r6, r8, proof = tree.root(6), tree.root(8), tree.consistency_proof(6, 8)
    assert verify_consistency(sha256, 6, 8, r6, r8, proof)
    malformed: list[tuple[object, ...]] = [
        (True, 8, r6, r8, proof),
        (6, 8.0, r6, r8, proof),
        (None, 8, r6, r8, proof),
        (-6, 8, r6, r8, proof),
        (6, -8, r6, r8, proof),
        (6, 8, r6.hex(), r8, proof),
        (6, 8, r6, None, proof),
        (6, 8, r6, r8, None),
        (6, 8, r6, r8, 3),
        (6, 8, r6, r8, b"".join(proof)),
        (6, 8, r6, r8, [*proof[:2], "x"]),
        (6, 8, r6, r8, [p[:16] for p in proof]),
        (6, 8, r6, r8, [p + b"\x00" for p in proof]),
        (6, 2**70, r6, r8, proof),
    ]
    for args in malformed:
        assert verify_consistency(sha256, *args) is False, args  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# Generation refuses impossible arguments
# ---------------------------------------------------------------------------------------------------------
def test_generation_refuses_impossible_arguments() -> None:
    tree = reference_tree()
    impossible: list[Callable[[], object]] = [
        lambda: tree.root(9),
        lambda: tree.root(-1),
        lambda: tree.inclusion_proof(8),
        lambda: tree.inclusion_proof(-1),
        lambda: tree.inclusion_proof(3, 3),
        lambda: tree.inclusion_proof(0, 0),
        lambda: tree.inclusion_proof(0, 9),
        lambda: tree.inclusion_proof(True),  # a bool is not an index
        lambda: tree.consistency_proof(5, 4),
        lambda: tree.consistency_proof(9),
        lambda: tree.consistency_proof(1, 9),
        lambda: tree.consistency_proof(-1, 4),
        lambda: tree.leaf(8),
        lambda: MerkleTree(sha256).inclusion_proof(0),
    ]
    for call in impossible:
        with pytest.raises(ValidationError):
            call()


def test_consistency_from_empty_or_to_the_same_size_is_an_empty_proof() -> None:
    tree = reference_tree()
    assert tree.consistency_proof(0, 5) == []
    assert tree.consistency_proof(0, 0) == []
    assert tree.consistency_proof(5, 5) == []
    assert tree.consistency_proof(8) == []


def test_leaf_hashes_of_the_wrong_length_are_refused_and_leave_the_tree_unchanged() -> None:
    tree = reference_tree()
    with pytest.raises(ValidationError, match="32 bytes"):
        tree.append(b"an entry, not its hash")
    with pytest.raises(ValidationError):
        tree.extend([sha256(b"fine"), hashlib.sha512(b"too long").digest()])
    with pytest.raises(ValidationError):
        tree.append(REFERENCE_ROOTS[1].hex())  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        MerkleTree(sha256, [b""])
    assert tree.size == 8
    assert tree.root() == REFERENCE_ROOTS[8]


# ---------------------------------------------------------------------------------------------------------
# Property test against the naive model
# ---------------------------------------------------------------------------------------------------------
MAX_SIZE = 70


def test_every_proof_of_every_small_tree_matches_the_model_and_verifies() -> None:
    leaves = numbered_leaves(sha256, MAX_SIZE)
    tree = MerkleTree(sha256)
    for size in range(1, MAX_SIZE + 1):
        tree.append(leaves[size - 1])
        prefix = leaves[:size]
        root = naive_root(sha256, prefix)
        assert tree.root() == tree.root(size) == root, f"size {size}"
        for index in range(size):
            proof = tree.inclusion_proof(index)
            assert proof == naive_path(sha256, index, prefix), f"index {index} size {size}"
            assert verify_inclusion(sha256, index, size, leaves[index], proof, root)
            assert not verify_inclusion(sha256, index ^ 1, size, leaves[index], proof, root)
        for old_size in range(size + 1):
            proof = tree.consistency_proof(old_size)
            expected = [] if old_size == 0 else naive_subproof(sha256, old_size, prefix, True)
            assert proof == expected, f"{old_size} -> {size}"
            old_root = naive_root(sha256, leaves[:old_size])
            assert verify_consistency(sha256, old_size, size, old_root, root, proof)


@pytest.mark.parametrize("size", [2, 3, 5, 7, 8, 12, 16, 17, 31, 33, 64, 65, 70])
def test_every_corruption_of_every_proof_is_rejected(size: int) -> None:
    tree = MerkleTree(sha256, numbered_leaves(sha256, size))
    root = tree.root()
    for index in range(size):
        proof = tree.inclusion_proof(index)
        assert accepted_inclusion_probes(sha256, index, size, tree.leaf(index), proof, root) == [], index
    for old_size in range(1, size):
        proof = tree.consistency_proof(old_size)
        old_root = tree.root(old_size)
        assert accepted_consistency_probes(sha256, old_size, size, old_root, root, proof) == [], old_size


def test_building_in_chunks_one_by_one_or_at_once_gives_the_same_tree() -> None:
    leaves = numbered_leaves(sha256, 1100)
    at_once = MerkleTree(sha256, leaves)
    one_by_one = MerkleTree(sha256)
    in_chunks = MerkleTree(sha256)
    for leaf in leaves:
        one_by_one.append(leaf)
    start = 0
    # Appends and extends mixed, so each works on levels the other left behind.
    for chunk in [1, 2, 3, 1, 1, 5, 250, 251, 0, 1, 511, 74]:
        if chunk == 1:
            in_chunks.append(leaves[start])
        else:
            in_chunks.extend(leaves[start : start + chunk])
        start += chunk
    assert start == 1100
    for size in range(1101):
        assert at_once.root(size) == one_by_one.root(size) == in_chunks.root(size), size
    for size in [511, 512, 513, 1000, 1023, 1024, 1025, 1100]:
        assert at_once.root(size) == naive_root(sha256, leaves[:size]), size
    assert at_once.inclusion_proof(1099) == naive_path(sha256, 1099, leaves)
    assert at_once.consistency_proof(1025) == naive_subproof(sha256, 1025, leaves, True)


# ---------------------------------------------------------------------------------------------------------
# The hash function is a parameter
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "hash_fn", [blake2b_256, blake2b_512, blake3_256], ids=["blake2b-256", "blake2b-512", "blake3"]
)
def test_another_hash_function_is_honoured(hash_fn: HashFn) -> None:
    leaves = [leaf_hash(hash_fn, e) for e in REFERENCE_ENTRIES]
    tree = MerkleTree(hash_fn, leaves)
    assert tree.hash_fn is hash_fn
    assert tree.digest_size == len(hash_fn(b""))
    assert tree.root(0) == hash_fn(b"")
    for size in range(1, 9):
        root = tree.root(size)
        assert root == naive_root(hash_fn, leaves[:size])
        assert root != REFERENCE_ROOTS[size]
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert verify_inclusion(hash_fn, index, size, leaves[index], proof, root)
            if proof:
                # The same proof means nothing under SHA-256.
                assert not verify_inclusion(sha256, index, size, leaves[index], proof, root)
        for old_size in range(1, size):
            proof = tree.consistency_proof(old_size, size)
            assert verify_consistency(hash_fn, old_size, size, tree.root(old_size), root, proof)
            assert not verify_consistency(sha256, old_size, size, tree.root(old_size), root, proof)
    # Leaf hashes of another function's length do not fit the tree.
    if tree.digest_size != 32:
        with pytest.raises(ValidationError):
            tree.append(leaf_hash(sha256, b"x"))
