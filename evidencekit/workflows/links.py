"""Search, reindex, links and similar: what people run to find what ties the items of cases together."""
