"""Watching pages over time (``watch add|list|pause|resume|remove|run``, ``recapture``): scheduled
re-captures of a URL, each linked to the series' previous capture and observed against its last
successful one (see ``evidencekit.ledger.entries.watching``).

Modules: ``registry`` (the watches and their settings), ``schedule`` (when one is due), ``lock`` (one pass at
a time), ``passes`` (a pass), ``availability`` (answers and removal), ``observe`` and ``observer`` (the
observation, off the writer's thread), ``follow`` (a listing's new links), ``notify`` (``--notify``),
``recapture``.
"""
