"""The custody ledger: database, action vocabulary, custody rules, Merkle tree, signed notes, witness copy."""
