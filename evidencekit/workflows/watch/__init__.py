"""Watching pages over time (``watch add|list|pause|resume|remove|run``, ``recapture``): scheduled
re-captures of a URL, each linked to the series' previous capture and observed against its last
successful one (see ``evidencekit.ledger.entries.watching``)."""
