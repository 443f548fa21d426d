"""Evidence bundles: export (build a BagIt bag) and verify (check one offline, without a browser)."""
