"""Independent time (RFC 3161): the investigator's Time-Stamping Authorities (``config``), asking them for
tokens over a signed checkpoint's note (``client``), and reading and checking a token offline (``token``).

This room knows nothing of cases or ledgers: it is given bytes to stamp and tokens to check. The workflows
record what it returns (``ledger.entries.stamps``); the rulebook and the bundle check use ``token`` to
check what was recorded. ``rfc3161-client`` does the ASN.1 and the CMS signature; nothing here is
hand-written DER.
"""
