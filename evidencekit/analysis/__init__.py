"""Analysis over what a case holds: the derived search index, photo matches and the links between items.

Derived, never evidence: everything here is rebuilt from the ledger and the object store, and nothing in
verification needs it.
"""
