"""Credentials written into URLs never reach a record or a screen (second look at capture, defect 4).

A page asks for images at ``http://user:password@host/...`` (refused by Chromium, so their URLs land in a
reason) and navigates itself to such a URL (which becomes the final URL); a URL given on the command line or
in a --from-file list may hold credentials, and a file given as a list may be something else entirely
(``/proc/self/environ``). The user names and passwords are searched for, byte for byte, in the case folder,
the CLI's output and an exported bundle (inside gzip, zip and WACZ members and PDF streams: the report,
certificates and exhibits), as test_secrets does for cookies and proxy passwords.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from casekit import make_case, run_subprocess
from fixture_site import FixtureSite
from test_secrets import _assert_nowhere, _forms
from warcio.archiveiterator import ArchiveIterator

PAGE_USER, PAGE_PASSWORD = "subUSERq7", "SuBpAsS99x"  # userinfo-requests.html
NAV_USER, NAV_PASSWORD = "navUSERk2", "NaVpAsS42y"  # userinfo-navigation.html
SECRETS = [PAGE_USER, PAGE_PASSWORD, NAV_USER, NAV_PASSWORD]


def _printed(output: str, secrets: list[str]) -> list[str]:
    return [form.decode() for secret in secrets for form in _forms(secret) if form.decode() in output]


def test_url_credentials_a_page_uses_are_nowhere(tmp_path: Path, site: FixtureSite, dead_url: str) -> None:
    case = make_case(tmp_path / "case")
    dead_port = dead_url.rstrip("/").rsplit(":", 1)[1]
    requests, navigation = site.url(f"/userinfo-requests.html?dead={dead_port}"), site.url("/userinfo-navigation.html")
    proc = run_subprocess(["--case", str(case), "capture", requests, navigation, "--json"], timeout=240)
    assert proc.returncode == 0, proc.stderr
    outcomes = {o["url"]: o for o in json.loads(proc.stdout)}
    text = run_subprocess(["--case", str(case), "items"], timeout=60)
    shown = run_subprocess(["--case", str(case), "log"], timeout=60)
    (tmp_path / "out").mkdir()
    bundle = tmp_path / "out" / "bundle.zip"
    exported = run_subprocess(["--case", str(case), "export", str(bundle), "--all"], timeout=300)
    assert exported.returncode == 0, exported.stderr

    # What was recorded says what happened, with the credentials redacted (so the search is not vacuous).
    failed = next(r for r in outcomes[requests]["reasons"] if r.startswith("subresources-failed:"))
    assert "http://redacted-" in failed and f"@127.0.0.1:{dead_port}/photo.jpg" in failed
    final = outcomes[navigation]["final_url"]
    assert final.startswith("http://redacted-") and final.endswith(f"@127.0.0.1:{site.port}/redirect/final.html")
    # The WACZ replays the final URL, which is the WARC response record's URI: both redacted alike.
    with zipfile.ZipFile(bundle) as archive:
        item = outcomes[navigation]["item_id"]
        name = next(n for n in archive.namelist() if n.endswith(f"data/items/{item}/capture.wacz"))
        with archive.open(name) as member, zipfile.ZipFile(member) as wacz:
            pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()][1:]
            with wacz.open(next(n for n in wacz.namelist() if n.startswith("archive/"))) as warc:
                targets = [
                    r.rec_headers.get_header("WARC-Target-URI")
                    for r in ArchiveIterator(warc)
                    if r.rec_type == "response"
                ]
    assert [page["url"] for page in pages] == [final] and final in targets

    assert _assert_nowhere(case, SECRETS) > 10
    assert _assert_nowhere(bundle.parent, SECRETS) > 10
    output = "".join(p.stdout + p.stderr for p in (proc, text, shown, exported))
    assert _printed(output, SECRETS) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://uSeRname77:SeCrEtPw55@127.0.0.1:99999/",  # a bad port
        "ftp://uSeRname77:SeCrEtPw55@example.org/",  # not http(s)
        "http://uSeRname77:SeCrEtPw55@/x",  # no host
        "uSeRname77:SeCrEtPw55@example.org/x",  # no scheme
    ],
)
def test_a_refused_url_is_never_echoed_with_its_credentials(tmp_path: Path, url: str) -> None:
    case = make_case(tmp_path / "case", with_key=False)
    given = run_subprocess(["--case", str(case), "capture", url], timeout=60)
    listed = tmp_path / "urls.txt"
    listed.write_text(f"# board A\nhttp://127.0.0.1:9/ok\n{url}\n", encoding="utf-8")
    from_file = run_subprocess(["--case", str(case), "capture", "--from-file", str(listed)], timeout=60)
    for proc in (given, from_file):
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert "***@" in proc.stderr
        assert _printed(proc.stdout + proc.stderr, ["uSeRname77", "SeCrEtPw55"]) == []
    assert f"{listed}, line 3:" in from_file.stderr


def test_from_file_refuses_a_kernel_pseudo_file_and_never_echoes_it(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case", with_key=False)
    env = {**os.environ, "EK_TEST_SECRET": "EnvSecret8841value"}
    proc = subprocess.run(
        [sys.executable, "-m", "evidencekit", "--case", str(case), "capture", "--from-file", "/proc/self/environ"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "pseudo-file" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "EnvSecret8841value" not in proc.stdout + proc.stderr
    assert "PATH=" not in proc.stdout + proc.stderr


def test_a_long_line_that_is_no_url_is_quoted_only_in_part(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case", with_key=False)
    listed = tmp_path / "urls.txt"
    listed.write_text("AWS_ACCESS=AKIA0000 AWS_SECRET_ACCESS_KEY=TailSecretXyz123456789\n", encoding="utf-8")
    proc = run_subprocess(["--case", str(case), "capture", "--from-file", str(listed)], timeout=60)
    assert proc.returncode == 2 and f"{listed}, line 1:" in proc.stderr
    assert "TailSecret" not in proc.stdout + proc.stderr


def test_text_redaction_takes_user_info_only_and_is_stable() -> None:
    from evidencekit.capture.redact import redact_mhtml, redact_text, redact_url

    salt = b"\x07" * 32
    text = "2 requests failed (first: http://u:pw@h.example:81/a@b?c: net::ERR_FAILED); mail me@x.org, http://h/x@y"
    out = redact_text(text, salt)
    assert "u:pw" not in out and out.count("redacted-") == 1
    assert redact_url("http://u:pw@h.example:81/a@b?c", salt) in out  # the same note as in the WARC
    assert out.endswith("mail me@x.org, http://h/x@y")  # an @ after the host, or in prose, is no user info
    assert redact_text(out, salt) == out
    snapshot = (
        "From: <Saved by Blink>\r\nSnapshot-Content-Location: http://u:pw@h/\r\n"
        'Content-Type: multipart/related;\r\n\tboundary="----B----"\r\n\r\n\r\n------B----\r\n'
        "Content-Location: http://u:pw@h/\r\n\r\n<p>Content-Location: http://u:pw@h/ is page text</p>\r\n"
        "------B------\r\n"
    )
    redacted = redact_mhtml(snapshot, salt)
    assert redacted.count("u:pw") == 1 and "<p>Content-Location: http://u:pw@h/ is page text</p>" in redacted
