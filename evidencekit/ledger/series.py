"""The series of captures of one URL, read from ledger entries alone: attempts, observations, intervals."""
