"""Merkle tree hashing of RFC 9162 section 2.1 (as in RFC 6962): roots, inclusion and consistency proofs.

The hash function is a parameter (raw digest bytes in, raw digest bytes out), so the ledger can use BLAKE3
while tests check against the SHA-256 reference vectors of Certificate Transparency.

``MerkleTree`` keeps the hash of every complete, aligned power-of-two subtree (one list per level). Any
subtree the RFC recursion asks for is then either one such stored node or a fold of at most log2(n) of
them along the right edge, so roots at any earlier size and proofs cost O(log n) lookups plus a few
hashes instead of rehashing the leaves.

A proof is only as good as the tree size it is checked against: the same audit path can verify under two
different sizes with the same root (e.g. leaf 1 in trees of 5 and 6 leaves), so callers must take the size
from the signed checkpoint that carries the root, never from the proof's bearer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from evidencekit.errors import ValidationError

HashFn = Callable[[bytes], bytes]

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(hash_fn: HashFn, entry: bytes) -> bytes:
    """The hash of one log entry as a leaf: H(0x00 || entry)."""
    return hash_fn(_LEAF_PREFIX + entry)


def node_hash(hash_fn: HashFn, left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: H(0x01 || left || right)."""
    return hash_fn(_NODE_PREFIX + left + right)


def empty_root(hash_fn: HashFn) -> bytes:
    """The root of the tree with no leaves: H(empty string)."""
    return hash_fn(b"")


def _largest_power_of_two_below(n: int) -> int:
    """The split point k of the RFC: the largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_size(value: object) -> bool:
    # bool is an int subclass; True as a tree size is a caller's mistake, not a size of one.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class MerkleTree:
    """An append-only Merkle tree built from a sequence of LEAF HASHES (already hashed with ``leaf_hash``)."""

    def __init__(self, hash_fn: HashFn, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._hash_fn = hash_fn
        self._empty_root = hash_fn(b"")
        self._digest_size = len(self._empty_root)
        # _levels[h][i] is the hash of the complete subtree over leaves [i * 2**h, (i + 1) * 2**h).
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    @property
    def hash_fn(self) -> HashFn:
        return self._hash_fn

    @property
    def digest_size(self) -> int:
        return self._digest_size

    @property
    def size(self) -> int:
        """How many leaves the tree holds."""
        return len(self._levels[0])

    def __len__(self) -> int:
        return self.size

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index`` (0-based)."""
        self._check_index(index, self.size)
        return self._levels[0][index]

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash at the end of the tree."""
        if not isinstance(leaf_hash, bytes) or len(leaf_hash) != self._digest_size:
            raise self._bad_leaf(leaf_hash)
        # Like a binary counter: every level holding an odd count gains a pair, completing a node above.
        # All hashes are computed before anything is stored, so a failing hash function leaves no
        # half-updated levels behind.
        levels = self._levels
        new_nodes = [leaf_hash]
        count = len(levels[0])
        while count & 1:
            height = len(new_nodes) - 1
            new_nodes.append(self._hash_fn(_NODE_PREFIX + levels[height][-1] + new_nodes[-1]))
            count >>= 1
        for height, node in enumerate(new_nodes):
            if height == len(levels):
                levels.append([])
            levels[height].append(node)

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add several leaf hashes at the end of the tree, in order."""
        leaves = self._levels[0]
        before = len(leaves)
        for value in leaf_hashes:
            if not isinstance(value, bytes) or len(value) != self._digest_size:
                # Leave the tree as it was: a half-added batch would shift every later leaf index.
                del leaves[before:]
                raise self._bad_leaf(value)
            leaves.append(value)
        self._complete_levels()

    def _bad_leaf(self, value: object) -> ValidationError:
        return ValidationError(
            f"a leaf hash must be {self._digest_size} bytes of this tree's hash function, "
            f"not {_describe(value)}; hash entries with leaf_hash() first"
        )

    def _complete_levels(self) -> None:
        """Hash every pair of complete subtrees that has no parent stored yet, level by level."""
        hash_fn = self._hash_fn
        height = 0
        while len(self._levels[height]) >= 2:
            below = self._levels[height]
            if height + 1 == len(self._levels):
                self._levels.append([])
            above = self._levels[height + 1]
            start = 2 * len(above)
            if start + 1 >= len(below):
                # Nothing new at this level, so nothing new above it either.
                break
            above.extend(hash_fn(_NODE_PREFIX + below[i] + below[i + 1]) for i in range(start, len(below) - 1, 2))
            height += 1

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree over the first ``size`` leaves (default: all); size 0 gives H(b"")."""
        size = self._check_size(size)
        if size == 0:
            return self._empty_root
        return self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path of leaf ``index`` in the tree of the first ``size`` leaves (RFC 9162 2.1.3.1)."""
        size = self._check_size(size)
        self._check_index(index, size)
        # Walk from the root down to the leaf, collecting the sibling of each step; the RFC lists the
        # path from the leaf upwards, hence the reversal.
        path: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            split = start + _largest_power_of_two_below(end - start)
            if index < split:
                path.append(self._subtree(split, end))
                end = split
            else:
                path.append(self._subtree(start, split))
                start = split
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Proof that the tree of ``old_size`` leaves is a prefix of that of ``new_size`` (RFC 9162 2.1.4.1).

        Empty when ``old_size`` is 0 or equal to ``new_size``: nothing needs proving then.
        """
        new_size = self._check_size(new_size)
        if not _is_size(old_size):
            raise ValidationError(f"an old tree size must be a non-negative integer, not {old_size!r}")
        if old_size > new_size:
            raise ValidationError(
                f"no consistency proof from size {old_size} to the smaller size {new_size}; "
                "give the older (smaller) size first"
            )
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        start, end = 0, new_size
        # True while the current subtree still contains the old root's subtree as its left-most part,
        # whose hash the verifier already holds (the RFC's flag b).
        old_root_known = True
        while True:
            if old_size == end:
                if not old_root_known:
                    proof.append(self._subtree(start, end))
                break
            split = start + _largest_power_of_two_below(end - start)
            if old_size <= split:
                proof.append(self._subtree(split, end))
                end = split
            else:
                proof.append(self._subtree(start, split))
                start = split
                old_root_known = False
        proof.reverse()
        return proof

    def _subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end) for a node of the RFC recursion (``start`` aligned to its size).

        Such a range is a run of complete aligned subtrees whose sizes are the binary digits of its
        length, largest first; the RFC hash folds them from the right.
        """
        count = end - start
        if count & (count - 1) == 0:
            height = count.bit_length() - 1
            return self._levels[height][start >> height]
        hash_fn = self._hash_fn
        acc: bytes | None = None
        position = end
        remaining = count
        while remaining:
            lowest = remaining & -remaining
            height = lowest.bit_length() - 1
            position -= lowest
            node = self._levels[height][position >> height]
            acc = node if acc is None else hash_fn(_NODE_PREFIX + node + acc)
            remaining -= lowest
        assert acc is not None
        return acc

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not _is_size(size):
            raise ValidationError(f"a tree size must be a non-negative integer, not {size!r}")
        if size > self.size:
            raise ValidationError(
                f"tree size {size} is larger than the {self.size} leaves this tree holds; "
                "ask for a size the log has reached"
            )
        return size

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not _is_size(index) or index >= size:
            raise ValidationError(
                f"leaf index {index!r} is outside a tree of size {size}; indices run from 0 to size - 1"
            )


def _describe(value: object) -> str:
    if isinstance(value, bytes):
        return f"{len(value)} bytes"
    return type(value).__name__


def _all_digests(values: Iterable[object], digest_size: int) -> bool:
    return all(isinstance(v, bytes) and len(v) == digest_size for v in values)


def _inclusion_path_length(index: int, size: int) -> int:
    """How many hashes an RFC 9162 audit path for ``index`` in a tree of ``size`` leaves holds."""
    # Below the highest bit where index and the last index differ, the path is that of a complete
    # subtree (one hash per level); above it, one hash per left-hand complete subtree on the right edge.
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner + border


def verify_inclusion(
    hash_fn: HashFn, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """True when ``proof`` shows leaf ``leaf_hash`` at ``index`` in the tree of ``size`` leaves with ``root``.

    RFC 9162 2.1.3.2. Never raises on malformed input: any defect makes it return False.
    """
    if not (_is_size(index) and _is_size(size)) or index >= size:
        return False
    try:
        path = list(proof)
    except TypeError:
        return False
    digest_size = len(hash_fn(b""))
    if not _all_digests([leaf_hash, root, *path], digest_size):
        return False
    if len(path) != _inclusion_path_length(index, size):
        return False

    node_index, last_index = index, size - 1
    computed = leaf_hash
    for sibling in path:
        if last_index == 0:
            return False
        if node_index & 1 or node_index == last_index:
            computed = hash_fn(_NODE_PREFIX + sibling + computed)
            # A right-most node without a sibling at this level moves up unchanged until it has one.
            while not node_index & 1 and node_index != 0:
                node_index >>= 1
                last_index >>= 1
        else:
            computed = hash_fn(_NODE_PREFIX + computed + sibling)
        node_index >>= 1
        last_index >>= 1
    return last_index == 0 and computed == root


def _consistency_proof_length(old_size: int, new_size: int) -> int:
    """How many hashes an RFC 9162 consistency proof between two sizes (0 < old < new) holds."""
    # The proof is the audit path of the old tree's last leaf in the new tree, minus the levels inside
    # the largest complete subtree that ends the old tree, plus that subtree's hash unless it is the
    # whole old tree (whose root the verifier already has).
    trailing = (old_size & -old_size).bit_length() - 1
    length = _inclusion_path_length(old_size - 1, new_size) - trailing
    if old_size != 1 << trailing:
        length += 1
    return length


def verify_consistency(
    hash_fn: HashFn, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True when ``proof`` shows the tree ``old_root`` of ``old_size`` leaves is a prefix of ``new_root``.

    RFC 9162 2.1.4.2, with the trivial cases made strict: from size 0 the proof must be empty and
    ``old_root`` must be the empty-tree hash; between equal sizes the proof must be empty and the roots
    equal. Never raises on malformed input: any defect makes it return False.
    """
    if not (_is_size(old_size) and _is_size(new_size)) or old_size > new_size:
        return False
    try:
        path = list(proof)
    except TypeError:
        return False
    empty = hash_fn(b"")
    if not _all_digests([old_root, new_root, *path], len(empty)):
        return False
    if old_size == 0:
        return not path and old_root == empty and (new_size > 0 or new_root == empty)
    if old_size == new_size:
        return not path and old_root == new_root
    if len(path) != _consistency_proof_length(old_size, new_size):
        return False

    if old_size & (old_size - 1) == 0:
        # The old tree is one complete subtree: its root is the starting point the proof leaves out.
        path.insert(0, old_root)
    old_index, new_index = old_size - 1, new_size - 1
    while old_index & 1:
        old_index >>= 1
        new_index >>= 1
    old_computed = new_computed = path[0]
    for node in path[1:]:
        if new_index == 0:
            return False
        if old_index & 1 or old_index == new_index:
            old_computed = hash_fn(_NODE_PREFIX + node + old_computed)
            new_computed = hash_fn(_NODE_PREFIX + node + new_computed)
            while not old_index & 1 and old_index != 0:
                old_index >>= 1
                new_index >>= 1
        else:
            new_computed = hash_fn(_NODE_PREFIX + new_computed + node)
        old_index >>= 1
        new_index >>= 1
    return new_index == 0 and old_computed == old_root and new_computed == new_root
