"""``data/VERIFY.txt``: how to check one bundle with evidencekit, and with standard tools alone.

Written from the export plan, before the report (which quotes it), so it names only what the bag holds:
a bundle exported with ``--no-pdf`` is said to have no ``report.pdf``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evidencekit.bundle.casefacts import verify_header
from evidencekit.bundle.layout import (
    ANALYSIS,
    BUNDLE_SIGNATURE_BODY,
    BUNDLE_SIGNATURE_SIG,
    CHECKPOINT,
    CHECKPOINT_BODY,
    CHECKPOINT_SIG,
    EXHIBITS,
    LEDGER,
    PROOFS,
    REPORT_HTML,
    REPORT_PDF,
    TIMESTAMP_INDEX,
    TIMESTAMPS,
    WACZ_NAME,
    artefact_path,
    key_path,
)
from evidencekit.bundle.timestamps import describe, openssl_recipes

if TYPE_CHECKING:
    from evidencekit.bundle.export import ExportPlan

# The sentence the report, bag-info.txt and VERIFY.txt use for a bundle exported without its PDF.
PDF_OMITTED = "omitted at export (--no-pdf)"


def report_lines(plan: ExportPlan) -> str:
    """What the bag holds of the readable report, as VERIFY.txt says it."""
    first = f"The readable report: {REPORT_HTML} (opens in any browser, loads nothing from any network)"
    links = (
        f"\nThe exhibit images of the photo matches the export recorded (its analysis.recorded ledger entry,\n"
        f"which names their digests): {ANALYSIS}/match-<n>.png."
        if plan.analysis
        else ""
    )
    if plan.report_pdf:
        return (
            f"{first}\nand {REPORT_PDF}, the same page printed by Chromium. The report summarises the bundle;\n"
            "the evidence is the files the manifests list.\n"
            f"One exhibit PDF per item, printed by the same Chromium: {EXHIBITS}/<exhibit number>.pdf.{links}"
        )
    return (
        f"{first}.\nIts PDF copy was {PDF_OMITTED}: this bundle holds no {REPORT_PDF}; print\n"
        "the page from a browser if a paper copy is needed. The report summarises the bundle; the evidence\n"
        f"is the files the manifests list. The exhibit PDFs were {PDF_OMITTED} too: no {EXHIBITS}/.{links}"
    )


# Runnable checks are the lines that begin with this marker after their indentation: a reader types what
# follows it, and tests/test_verify_txt.py runs exactly those lines. Setup lines (installing tools, setting
# KEYID) and lines for other shells carry no marker.
COMMAND = "$ "


# PowerShell, for the SHA-256 steps: each payload file against manifest-sha256.txt, then the four files the
# statement names against their signed sha256: values (Get-FileHash prints upper case; -eq/-ne ignore case).
_WINDOWS = "".join(
    f"       PS> {line}\n"
    for line in (
        "Get-Content manifest-sha256.txt | ForEach-Object { $d, $f = $_ -split '  ', 2; "
        'if ((Get-FileHash -Algorithm SHA256 -LiteralPath $f).Hash -ne $d) { "FAILED: $f" } }',
        f"Get-Content {BUNDLE_SIGNATURE_BODY} | ForEach-Object {{ if ($_ -match '^(\\S+\\.txt) sha256:(\\S+)') "
        "{ $f = $Matches[1]; $d = $Matches[2]; if ((Get-FileHash -Algorithm SHA256 -LiteralPath $f).Hash -eq $d) "
        '{ "${f}: OK" } else { "${f}: FAILED" } } }',
    )
)


def _command(line: str) -> str:
    return f"       {COMMAND}{line}\n"


def _watched(plan: ExportPlan) -> str:
    """What verify checks besides for a watched page's observations, when the bundle carries any."""
    if not any(e.action == "observation.recorded" for item in plan.items for e in item.entries):
        return ""
    return (
        "\n   For a watched page, it also checks each observation's diff files (diff.json, diff.html,\n"
        "   visual-diff.png in the observed capture's folder) against the digests its observation.recorded\n"
        "   entry recorded, and that the captures it compares are in this bundle; where they are not, it\n"
        "   says that the bundle holds an excerpt of the page's series and names them."
    )


def standard_tools(plan: ExportPlan) -> str:
    """Section 2 of VERIFY.txt: the checks with standard tools alone, and what they do and do not prove."""
    pem = key_path(plan.signer.public.key_id, "pem")
    sha_lines = "awk '$1 ~ /\\.txt$/ && $2 ~ /^sha256:/ { print substr($2, 8) \"  \" $1 }' " + BUNDLE_SIGNATURE_BODY
    b3_lines = "awk '$1 ~ /\\.txt$/ && $3 ~ /^blake3:/ { print substr($3, 8) \"  \" $1 }' " + BUNDLE_SIGNATURE_BODY
    key_id = f"openssl pkey -pubin -in {pem} -outform DER | tail -c 32 | "
    signature = f"openssl pkeyutl -verify -pubin -inkey {pem} -rawin -in {BUNDLE_SIGNATURE_BODY} -sigfile "
    checkpoint = f"openssl pkeyutl -verify -pubin -inkey {pem} -rawin -in {CHECKPOINT_BODY} -sigfile {CHECKPOINT_SIG}"
    compare = 'cut -c1-16 | grep -Fix "$KEYID"'
    macos = _command(sha_lines + " | shasum -a 256 -c") + _command(key_id + "shasum -a 256 | " + compare)
    return f"""2. With standard tools alone (Linux, macOS; Windows below)

   What it proves: every file under data/ is one the investigator's key signed for. Each file matches
   the payload manifests (a, b); bagit.txt, bag-info.txt and both manifests are the ones named in the
   signed statement {BUNDLE_SIGNATURE_BODY} (c); that statement is signed (d) by the key whose id
   you obtained out of band (e); the same key signed the custody checkpoint (f).
   What only evidencekit verify checks: that each ledger line is included in the signed Merkle tree
   (RFC 9162 inclusion proofs with BLAKE3, g), the ledger's hash chain and rules, that each artefact
   matches the digests its ledger entry recorded, the case facts against the ledger, each WACZ's own
   digests (h), that each WACZ holds its capture's recorded WARC with the recorded final URL, title and
   time, and that each added item's metadata.json says what its ledger entries say.{_watched(plan)}

   Tools, installed once (these lines install; they check nothing):
     Debian 12 / Ubuntu 24.04 (neither packages the bagit tool; a venv keeps it apart from the system):

       sudo apt install openssl b3sum python3-venv
       python3 -m venv /tmp/bagit-venv && /tmp/bagit-venv/bin/pip install bagit
       export PATH="/tmp/bagit-venv/bin:$PATH"

     macOS, with Homebrew (the system's own openssl cannot check Ed25519 signatures):

       brew install openssl@3 b3sum
       python3 -m venv /tmp/bagit-venv && /tmp/bagit-venv/bin/pip install bagit
       export PATH="$(brew --prefix openssl@3)/bin:/tmp/bagit-venv/bin:$PATH"

   Then put the key id you obtained out of band (see 1) in KEYID; never copy it from this bundle:

       export KEYID=<the 16 characters the investigator gave you>

   Lines that begin with "{COMMAND.strip()}" are the checks: type each without the "{COMMAND.strip()}", in the bag's top
   folder. Each must end with exit code 0 (echo $? prints 0); anything else means the check failed.

   a) Every payload file against its SHA-256 and BLAKE3 digests (every line must end in OK):

{_command("sha256sum -c manifest-sha256.txt")}{_command("b3sum --check manifest-blake3.txt")}
   b) The BagIt bag as a whole (RFC 8493: manifests, tag manifests, Payload-Oxum, no file missing or
      added), with the Library of Congress bagit tool; the last line says the bag is valid:

{_command("bagit.py --validate .")}
   c) The signed statement names the SHA-256 and BLAKE3 digests of bagit.txt, bag-info.txt and both
      manifests; the files must still have them (four lines, each ending in OK). By eye: the sha256:
      values in {BUNDLE_SIGNATURE_BODY} are those that sha256sum prints for the same files.

{_command(sha_lines + " | sha256sum -c")}{_command(b3_lines + " | b3sum --check")}
   d) The investigator's Ed25519 signature of that statement ("Signature Verified Successfully"):

{_command(signature + BUNDLE_SIGNATURE_SIG)}
   e) The key that signed is the investigator's. Its key id is the first 16 hexadecimal characters of
      the SHA-256 of the raw 32-byte Ed25519 public key (the "Key id" of evidencekit keys show). The
      first line computes it from the key file used in d), to compare by eye with the id you were
      given; the second prints it again only when it equals $KEYID, and fails otherwise:

{_command(key_id + "sha256sum | cut -c1-16")}{_command(key_id + "sha256sum | " + compare)}
      Without e), a) to d) prove nothing about who made the bundle: anyone can change a file, rebuild
      every manifest, sign a new statement with a key of his own and pass them all.

   f) The investigator's Ed25519 signature of the custody checkpoint ("Signature Verified Successfully"):

{_command(checkpoint)}
      {CHECKPOINT} holds the same checkpoint (origin, tree size, Merkle root) as a
      C2SP signed note, as bundle-signature.txt does the statement.

   g) Each ledger line in {LEDGER} is included in that signed Merkle tree: the
      inclusion proofs are in {PROOFS} (RFC 9162 section 2.1.3, hash BLAKE3, leaf
      hash = BLAKE3(0x00 || line bytes without the newline)). evidencekit verify checks them; any
      RFC 9162 implementation can.

   h) Web captures: each {WACZ_NAME} opens in any WACZ player (for example ReplayWeb.page, offline)
      and can be validated with the wacz tool (/tmp/bagit-venv/bin/pip install wacz):
          wacz validate -f {artefact_path("<item>", WACZ_NAME)}

   On a Mac without sha256sum, the SHA-256 lines of a), c) and e) read (shasum comes with macOS):

{_command("shasum -a 256 -c manifest-sha256.txt")}{macos}
   On Windows, PowerShell alone does the SHA-256 steps a) and c): the first line prints nothing when
   every file matches (and "FAILED: <file>" for each that does not); the second prints OK or FAILED
   for each of the four signed files. For b), d), e) and f) run the lines above in WSL (Ubuntu), or use
   OpenSSL 3 for Windows for d) and f).

{_WINDOWS}"""


# The variable a reader sets to the TSA root certificate obtained out of band; the test sets it to its own root.
TSA_ROOT = "TSA_ROOT"


def openssl_ts_line(note: str, token: str, certs: str | None) -> str:
    """The check of one token with openssl alone (RFC 3161): it prints "Verification: OK" when the token is a
    TSA's valid signature over exactly the bytes of ``note``, by a certificate chaining to $TSA_ROOT."""
    untrusted = f" -untrusted {certs}" if certs else ""
    return f'openssl ts -verify -data {note} -in {token} -CAfile "${TSA_ROOT}"{untrusted}'


def independent_time(plan: ExportPlan) -> str:
    """Section 3 of VERIFY.txt: the RFC 3161 tokens the bundle carries, each checked with openssl alone."""
    recipes = openssl_recipes(plan.time)
    if not recipes:
        return """3. Independent time (RFC 3161)

   This bundle carries no RFC 3161 timestamp from a Time-Stamping Authority: its times are those of the
   investigator's own clock, vouched for by the investigator's own key.
"""
    said = describe(plan.time)
    lines = "".join(
        f"     {what}\n{_command(openssl_ts_line(*recipe))}" for what, recipe in zip(said, recipes, strict=True)
    )
    return f"""3. Independent time (RFC 3161 timestamps), with openssl alone

   What it proves: a Time-Stamping Authority (TSA) signed, at the time it states (genTime), the SHA-256
   of the exact bytes of a checkpoint's signed note: that checkpoint, and through the Merkle proofs every
   ledger line and artefact under it, existed no later than that time. The files are in
   {TIMESTAMPS}/: for each checkpoint its note (checkpoint-<seq>.note), each TSA's
   answer (checkpoint-<seq>.<tsa>.tsr, a DER TimeStampResp exactly as the TSA sent it) and the
   certificates that answer carries (.certs.pem). Which token stamps which checkpoint is in
   {TIMESTAMP_INDEX}; a checkpoint older than the bundle's own is tied to it by the
   RFC 9162 consistency proof recorded there (evidencekit verify checks it, and also checks each token
   against the ledger lines and the times they record).

   The root certificate you check against must come from the TSA itself, out of band (its web site, or
   a trusted list such as the EU Trusted List for a qualified TSA), never from this bundle: anyone can
   put a root of his own making in a bundle. Put its path in {TSA_ROOT} (for each TSA, its own root):

       export {TSA_ROOT}=<the TSA's root certificate, PEM, obtained from the TSA>

   Each check prints "Verification: OK" when the token is the TSA's valid signature over exactly that
   note file, by a certificate that chains to your root; anything else means the check failed. The
   same checks with evidencekit: evidencekit verify bundle.zip --tsa-roots <root PEM> (repeatable).

{lines}"""


def verify_instructions(plan: ExportPlan, *, naming_the_case: bool = True) -> str:
    """The text of data/VERIFY.txt for the bundle ``plan`` describes.

    ``naming_the_case=False`` leaves out the lines naming the case, for the copy the report and the
    certificates quote: they state the case facts once, where ``verify`` checks them.
    """
    signer = plan.signer.public.key_id
    key_ids = ", ".join(k.key_id for k in plan.keys) or "(none)"
    case = verify_header(plan.case.to_dict()) if naming_the_case else ""
    return f"""HOW TO VERIFY THIS EVIDENCE BUNDLE
==================================

{case}Bundle made: {plan.created} (UTC) by {plan.software}
Signed checkpoint: tree size {plan.checkpoint.size}, root blake3:{plan.checkpoint.root.hex()}
Signed with key id: {signer}   (investigator keys recorded in the ledger: {key_ids})

{report_lines(plan)}

All commands below are run from the bag's top folder (the one holding bagit.txt). If you received a
zip file, unzip it first (for example: unzip bundle.zip). No check needs a network connection
(installing the tools once does).

1. With evidencekit (checks everything below, and more, in one step; exit code 0 = intact, 3 = not):

       evidencekit verify bundle.zip --key KEYID        (or the unzipped folder)

   KEYID is the investigator's published key id, obtained out of band, never from this bundle: for
   example, the investigator reads you the "Key id" line of `evidencekit keys show` over the phone, or
   states it in a signed letter. It must be {signer}, the key that signed this bundle. The bundle
   carries its own public keys, so without --key it shows only that it is intact and consistent, not
   who made it: anyone can make a consistent bundle under a new key and any name. --key also takes
   the investigator's public key file (.pem or .json), and may be given more than once.

{standard_tools(plan)}
{independent_time(plan)}
What a failure means: any changed, missing or added file, any edited ledger line or proof, or a key
that is not the one recorded in the ledger is reported by name; the bundle must then not be relied on
without an explanation from its sender.
"""
