"""Checking a bundle offline: safe unzip, bag, custody, WACZ, trust. Needs no case, no browser, no SQLite."""
