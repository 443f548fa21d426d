"""A page on a public address must not reach the investigator's loopback or private network (issue 11).

Each test runs the real ``evidencekit capture`` in a network namespace of its own (``unshare -rn``, see
netns_capture.py): a hostile page on a documentation address (198.51.100.7, public to any browser) tries
images, IPv6, a redirect, a frame named by a DNS name, fetch(), a script navigation and a redirect of the
capture's own navigation, all towards a service on the namespace's loopback, which counts what reaches it.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from casekit import make_case

HELPER = Path(__file__).with_name("netns_capture.py")
PUBLIC = "http://198.51.100.7"
PRIVATE = "127.0.0.1:9631"


def _capture(case: Path, tmp_path: Path, *options: str) -> dict[str, Any]:
    output = tmp_path / "result.json"
    command = ["unshare", "-rn", sys.executable, str(HELPER), str(output), str(case), *options]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=420, check=False)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(output.read_text("utf-8"))
    return result


def _entries(case: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        return [json.loads(bytes(r[0])) for r in conn.execute("SELECT entry FROM entries ORDER BY seq")]
    finally:
        conn.close()


def _metadata(case: Path, entry: dict[str, Any]) -> dict[str, Any]:
    artefact = next(a for a in entry["artefacts"] if a["name"] == "metadata.json")
    digest = artefact["blake3"].split(":", 1)[1]
    data: dict[str, Any] = json.loads((case / "objects" / digest[:2] / digest).read_text("utf-8"))
    return data


def _ended(case: Path, url: str) -> dict[str, Any]:
    return next(
        e
        for e in _entries(case)
        if e["action"] in ("capture.completed", "capture.failed") and e["details"]["url"] == url
    )


def test_a_public_page_cannot_reach_loopback_and_every_attempt_is_recorded(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    result = _capture(case, tmp_path)
    # Only the exempt page (itself on loopback) and its own image reached the private service.
    assert sorted(result["hits"]) == ["/exempt", "/from-exempt"], result["stderr"]
    assert result["returncode"] == 1, "the capture whose own redirect was refused failed"
    assert "loopback or private network address" in result["stderr"]

    page = _ended(case, f"{PUBLIC}/page")
    meta = _metadata(case, page)
    guard = meta["private_network"]
    assert guard["policy"] == "block" and guard["page_address_space"] == "public"
    assert guard["page_address"] == "198.51.100.7"
    blocked = {b["url"] for b in guard["blocked"]}
    assert {
        f"http://{PRIVATE}/img",
        "http://[::1]:9631/v6",
        f"http://{PRIVATE}/bounced",  # a redirect of one of the page's images
        "http://localhost:9631/frame",  # a frame, by name
        f"http://{PRIVATE}/fetch",
    } <= blocked
    assert meta["settings"]["private_network"] == "blocked"
    # Blocked, not failed: the page itself was captured whole.
    assert page["details"]["status"] == "complete", page["details"]["reasons"]
    assert meta["requests"]["blocked"] >= 5 and meta["requests"]["failed"] == 0
    assert any(reason.startswith("private-network-blocked:") for reason in page["details"]["reasons"])

    moved_entry = _ended(case, f"{PUBLIC}/navigates")
    moved = _metadata(case, moved_entry)
    assert f"http://{PRIVATE}/navigated" in {b["url"] for b in moved["private_network"]["blocked"]}
    # What was read after the refused navigation is the browser's error page, not the page: partial.
    assert moved_entry["details"]["status"] == "partial"
    refused = next(r for r in moved_entry["details"]["reasons"] if r.startswith("navigation-failed:"))
    assert f"http://{PRIVATE}/navigated" in refused
    assert moved["final_url"] == f"{PUBLIC}/navigates" and moved["shown_document"]["kind"] == "error-page"

    # The capture's own navigation, redirected by the server to a name that resolves to loopback.
    redirected = _ended(case, f"{PUBLIC}/redirects")
    assert redirected["action"] == "capture.failed"
    assert "loopback or private network address" in redirected["details"]["error"]
    ours = _metadata(case, redirected)["private_network"]["blocked"]
    assert [(b["url"], b["address"] in ("127.0.0.1", "::1")) for b in ours] == [
        ("http://localhost:9631/redirected", True)
    ]
    assert ours[0]["by"].startswith("evidencekit")

    exempt = _metadata(case, _ended(case, f"http://{PRIVATE}/exempt"))["private_network"]
    assert exempt["page_address_space"] == "loopback" and exempt["blocked"] == []
    started = [e for e in _entries(case) if e["action"] == "capture.started"]
    assert {e["details"]["options"]["allow_private_network"] for e in started} == {False}


def test_allow_private_network_lets_them_through_and_is_recorded(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    result = _capture(case, tmp_path, "--allow-private-network")
    assert result["returncode"] == 0, result["stderr"]
    assert {"/img", "/v6", "/bounced", "/frame", "/fetch", "/navigated", "/redirected"} <= set(result["hits"])
    started = [e for e in _entries(case) if e["action"] == "capture.started"]
    assert {e["details"]["options"]["allow_private_network"] for e in started} == {True}
    meta = _metadata(case, _ended(case, f"{PUBLIC}/page"))
    assert meta["settings"]["private_network"] == "allowed"
    assert meta["private_network"]["policy"] == "allow" and meta["private_network"]["blocked"] == []


PROXY_HELPER = Path(__file__).with_name("netns_proxy_capture.py")


def test_through_a_proxy_on_loopback_the_proxys_address_is_no_private_network_hit(tmp_path: Path) -> None:
    """Second look at capture, defect 3: through a proxy every response comes from the proxy's address, a
    loopback one here (as Tor's 127.0.0.1:9050): that is no page reaching the investigator's network. The
    page's own requests to loopback addresses, which Chromium sends to the proxy too, are still refused."""
    case = make_case(tmp_path / "case")
    output = tmp_path / "result.json"
    urls = [f"{PUBLIC}/plain", f"{PUBLIC}/page"]
    command = ["unshare", "-rn", sys.executable, str(PROXY_HELPER), str(output), str(case), *urls]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=420, check=False)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(output.read_text("utf-8"))
    assert result["returncode"] == 0, result["stderr"]
    # Both pages came through the proxy, and nothing reached the private service through it.
    assert {f"{PUBLIC}/plain", f"{PUBLIC}/page"} <= set(result["relayed"])
    assert result["hits"] == []
    assert not [r for r in result["relayed"] if "9631" in r], "a loopback request went to the proxy"

    plain = _ended(case, f"{PUBLIC}/plain")
    assert plain["details"]["status"] == "complete", plain["details"]["reasons"]
    meta = _metadata(case, plain)
    assert meta["http"]["server_ip"] == "127.0.0.1"  # the proxy's address: all the browser can see
    assert not any("private-network-reached" in reason for reason in plain["details"]["reasons"])
    assert "private-network-reached" not in result["stdout"]

    page = _ended(case, f"{PUBLIC}/page")
    assert page["details"]["status"] == "complete", page["details"]["reasons"]
    blocked = _metadata(case, page)["private_network"]["blocked"]
    assert {f"http://{PRIVATE}/img", "http://[::1]:9631/v6", f"http://{PRIVATE}/fetch"} <= {b["url"] for b in blocked}
    assert all(b["by"].startswith("evidencekit, before the request went to the proxy") for b in blocked)
    assert "ProxyPWns7731" not in result["stdout"] + result["stderr"]


@pytest.mark.parametrize(
    ("address", "space"),
    [
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("0.0.0.0", "loopback"),  # connecting to it reaches the machine itself on Linux
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("[::ffff:7f00:1]", "loopback"),
        ("10.1.2.3", "private"),
        ("172.31.255.1", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "private"),  # cloud metadata services live here
        ("100.64.0.1", "private"),
        ("fd00::1", "private"),
        ("fe80::1%eth0", "private"),
        ("198.51.100.7", "public"),  # documentation ranges are public, as in Chromium
        ("93.184.215.14", "public"),
        ("2001:db8::1", "public"),
        ("172.32.0.1", "public"),
        ("example.org", "unknown"),
    ],
)
def test_address_spaces(address: str, space: str) -> None:
    from evidencekit.capture.private_network import address_space

    assert address_space(address) == space
