"""`evidencekit capture` end to end: real Chromium, the local fixture site, real ledger and store."""

import json
import sqlite3

import pytest
from casekit import make_case, run_cli, run_subprocess, start_subprocess

from evidencekit.schemas import schema_problems


@pytest.fixture
def case(tmp_path):
    return make_case(tmp_path / "case")


def _entries(case):
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        return [json.loads(bytes(r[0])) for r in conn.execute("SELECT entry FROM entries ORDER BY seq")]
    finally:
        conn.close()


def _stored(case, artefact):
    digest = artefact["blake3"].split(":", 1)[1]
    return case / "objects" / digest[:2] / digest


def test_capture_two_pages_as_a_real_process(case, site):
    urls = [site.url("/jobs/domestic-work.html"), site.url("/jobs/multilingual.html")]
    proc = run_subprocess(["--case", str(case), "capture", *urls, "--concurrency", "2", "--json"], timeout=240)
    assert proc.returncode == 0, proc.stderr
    outcomes = json.loads(proc.stdout)  # stdout holds JSON only
    assert [o["url"] for o in outcomes] == urls
    assert {o["status"] for o in outcomes} <= {"complete", "partial"}
    entries = _entries(case)
    started = [e for e in entries if e["action"] == "capture.started"]
    completed = [e for e in entries if e["action"] == "capture.completed"]
    assert len(started) == 2 and len(completed) == 2
    assert {e["subject"] for e in started} == {e["subject"] for e in completed} == {"capture-0001", "capture-0002"}
    for entry in completed:
        names = {a["name"] for a in entry["artefacts"]}
        assert {"screenshot.png", "metadata.json", "capture.warc.gz"} <= names, entry["details"]
        if "screenshot-viewport.png" not in names:
            # Two captures at once on a loaded machine can run out of the viewport shot's share of time: then
            # the capture is partial and says why, which is what it must do (never a silent gap).
            assert entry["details"]["status"] == "partial", entry["details"]
            assert any(r.startswith("screenshot-viewport-missing") for r in entry["details"]["reasons"]), entry
        for artefact in entry["artefacts"]:
            assert _stored(case, artefact).is_file()
        metadata_artefact = next(a for a in entry["artefacts"] if a["name"] == "metadata.json")
        assert entry["details"]["metadata"] == metadata_artefact["blake3"]
        metadata = json.loads(_stored(case, metadata_artefact).read_text())
        assert schema_problems("capture", metadata) == []
    domestic = next(e for e in completed if e["details"]["url"] == urls[0])
    phones = {i["value"] for i in domestic["details"]["indicators"] if i["kind"] == "phone"}
    assert "+442079460958" in phones and "+14155550132" in phones
    assert run_cli(["--case", str(case), "ledger", "verify"]).exit_code == 0
    assert not (case / "work").exists(), "scratch files must not stay in the case"


def test_refused_connection_is_exit_1_and_recorded(case, dead_url):
    result = run_cli(["--case", str(case), "capture", dead_url])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and dead_url in lines[0] and "failed" in lines[0]
    entries = _entries(case)
    failed = [e for e in entries if e["action"] == "capture.failed"]
    assert len(failed) == 1 and failed[0]["details"]["error"]
    assert any(e["action"] == "capture.started" and e["subject"] == failed[0]["subject"] for e in entries)
    assert run_cli(["--case", str(case), "ledger", "verify"]).exit_code == 0


def test_gone_pages_are_evidence_not_errors(case, site):
    result = run_cli(["--case", str(case), "capture", site.url("/gone-404.html"), site.url("/gone-410.html"), "--json"])
    assert result.exit_code == 0, result.stderr
    statuses = sorted(e["details"]["http_status"] for e in _entries(case) if e["action"] == "capture.completed")
    assert statuses == [404, 410]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "data:text/html,hi", "chrome://settings"])
def test_non_http_urls_are_refused_before_anything_is_recorded(case, url):
    before = len(_entries(case))
    result = run_cli(["--case", str(case), "capture", url])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert len(_entries(case)) == before


def test_from_file_and_shared_indicators(case, site, tmp_path):
    url_file = tmp_path / "urls.txt"
    url_file.write_text(
        "# ads seen on two boards\n"
        f"{site.url('/jobs/domestic-work.html?board=a')}\n\n"
        f"{site.url('/jobs/domestic-work.html?board=b')}\n",
        encoding="utf-8",
    )
    result = run_cli(["--case", str(case), "capture", "--from-file", str(url_file), "--json"])
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 2
    listed = json.loads(run_cli(["--case", str(case), "indicators", "--json"]).stdout)
    phone = next(i for i in listed if i["value"] == "+442079460958")
    assert phone["items"] == ["capture-0001", "capture-0002"] and phone["shared"]
    text = run_cli(["--case", str(case), "indicators"]).stdout
    assert "SHARED" in text


def test_missing_url_file_is_a_usage_error(case, tmp_path):
    result = run_cli(["--case", str(case), "capture", "--from-file", str(tmp_path / "none.txt")])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_ctrl_c_keeps_what_finished_and_the_ledger_verifies(case, site):
    import signal
    import time

    urls = [site.url("/jobs/domestic-work.html"), site.url("/slow.html?delay=30"), site.url("/slow.html?delay=30")]
    proc = start_subprocess(["--case", str(case), "capture", *urls, "--concurrency", "1"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(e["action"] == "capture.completed" for e in _entries(case)) and any(
            e["action"] == "capture.started" and e["subject"] == "capture-0002" for e in _entries(case)
        ):
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the first capture never finished")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "interrupted" in err
    entries = _entries(case)
    done = {e["subject"]: e for e in entries if e["action"] in ("capture.completed", "capture.failed")}
    assert done["capture-0001"]["action"] == "capture.completed"
    assert done["capture-0002"]["details"]["status"] in ("failed", "partial")
    assert "capture-0003" not in {e["subject"] for e in entries if e["action"] == "capture.started"}
    assert run_cli(["--case", str(case), "ledger", "verify"]).exit_code == 0


def test_progress_bar_on_a_terminal_and_none_in_json_mode(case, site):
    import os
    import pty
    import subprocess
    import sys

    urls = [site.url("/jobs/domestic-work.html"), site.url("/iframe.html")]
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidencekit", "--case", str(case), "capture", *urls],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=dict(os.environ),
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    out = proc.communicate(timeout=120)[0].decode()
    os.close(master)
    terminal = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, terminal
    assert "2/2" in terminal and "[" + "#" * 24 + "]" in terminal
    assert "Summary: " in out and "[#" not in out
    quiet = run_cli(["--case", str(case), "capture", site.url("/jobs/domestic-work.html"), "--json"])
    assert quiet.exit_code == 0 and "[#" not in quiet.stderr
    json.loads(quiet.stdout)


def test_pages_see_an_ordinary_chrome_user_agent(case, site):
    result = run_cli(["--case", str(case), "capture", site.url("/headers-echo"), "--json"])
    assert result.exit_code == 0, result.stderr
    body = next(a for a in json.loads(result.stdout)[0]["artefacts"] if a["name"].startswith("document."))
    echoed = json.loads(_stored(case, body).read_text())
    agent = next(v for k, v in (echoed.items() if isinstance(echoed, dict) else echoed) if k.lower() == "user-agent")
    assert "Chrome/" in agent and "Headless" not in agent


def test_capture_flags_reach_the_browser_and_the_record(case, site, tmp_path):
    """Every capture option given on the command line: what the page received shows it took effect, the
    metadata records it, and the cookie of the storage state is in neither the metadata nor the ledger."""
    state = tmp_path / "state.json"
    cookie = {"name": "sid", "value": "s3cret-cookie", "domain": "127.0.0.1", "path": "/", "expires": -1,
              "httpOnly": False, "secure": False, "sameSite": "Lax"}  # fmt: skip
    state.write_text(json.dumps({"cookies": [cookie], "origins": []}))
    args = ["--case", str(case), "capture", site.url("/headers-echo"), "--timeout", "30", "--pdf", "--no-mhtml",
            "--viewport", "1000x700", "--user-agent", "EvidenceKit-Test/1.0", "--storage-state", str(state),
            "--region", "gb", "--note", "flag check", "--json"]  # fmt: skip
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    (outcome,) = json.loads(result.stdout)
    artefacts = {a["name"]: a for a in outcome["artefacts"]}
    assert "page.pdf" in artefacts and "page.mhtml" not in artefacts
    assert _stored(case, artefacts["page.pdf"]).read_bytes().startswith(b"%PDF-")
    viewport_png = _stored(case, artefacts["screenshot-viewport.png"]).read_bytes()
    assert (int.from_bytes(viewport_png[16:20], "big"), int.from_bytes(viewport_png[20:24], "big")) == (1000, 700)
    document = next(a for name, a in artefacts.items() if name.startswith("document."))
    echoed = {k.lower(): v for k, v in json.loads(_stored(case, document).read_text()).items()}
    assert echoed["user-agent"] == "EvidenceKit-Test/1.0"
    assert "sid=s3cret-cookie" in echoed["cookie"]
    metadata_text = _stored(case, artefacts["metadata.json"]).read_text()
    settings = json.loads(metadata_text)["settings"]
    assert settings["viewport"] == {"width": 1000, "height": 700}
    assert (settings["timeout_ms"], settings["pdf"], settings["mhtml"]) == (30000, True, False)
    assert (settings["user_agent"], settings["region"]) == ("EvidenceKit-Test/1.0", "GB")
    assert settings["storage_state"] is not None and "s3cret-cookie" not in metadata_text
    entries = _entries(case)
    started = next(e for e in entries if e["action"] == "capture.started")
    assert started["details"]["note"] == "flag check"
    assert "s3cret-cookie" not in json.dumps(entries)


def test_an_unreachable_proxy_fails_the_capture_in_one_line_without_its_password(case, site, tmp_path, dead_url):
    proxy = dead_url.replace("http://", "http://agent:pr0xy-pass@").rstrip("/")
    result = run_cli(["--case", str(case), "capture", site.url("/jobs/domestic-work.html"), "--proxy", proxy])
    assert result.exit_code == 1
    assert "proxy" in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "pr0xy-pass" not in result.stdout + result.stderr
    entries = _entries(case)
    (failed,) = [e for e in entries if e["action"] == "capture.failed"]
    assert "ERR_PROXY_CONNECTION_FAILED" in failed["details"]["error"]
    assert any(e["action"] == "capture.started" and e["subject"] == failed["subject"] for e in entries)
    assert "pr0xy-pass" not in json.dumps(entries)
