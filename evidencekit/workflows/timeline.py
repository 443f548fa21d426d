"""``timeline URL|ITEM``: the history of one URL in the case (see ``evidencekit.ledger.series``)."""
