"""The documents a bundle carries for people: report, certificate drafts, verification instructions, facts."""
