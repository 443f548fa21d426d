"""Real Chromium against the fixture site over HTTPS with a self-signed certificate, and the capture options
that change what the browser sends (user agent, viewport, storage state, region, PDF)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fixture_site import FixtureSite
from PIL import Image

from evidencekit.capture import CaptureOptions, capture_many
from evidencekit.hashing import hash_file
from evidencekit.models import CaptureResult
from evidencekit.schemas import schema_problems

USER_AGENT = "EvidenceKitTest/1.0 (fixture)"


def _meta(result: CaptureResult) -> dict[str, Any]:
    path = next(f.path for f in result.files if f.artefact.name == "metadata.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_self_signed_certificate_is_refused_by_default_and_recorded(tls_site: FixtureSite, tmp_path: Path) -> None:
    (result,) = capture_many([tls_site.url("/jobs/domestic-work.html")], CaptureOptions(timeout_s=20), tmp_path)
    assert result.status == "failed"
    assert result.error is not None and "\n" not in result.error
    assert "certificate" in result.error and "--ignore-https-errors" in result.error
    meta = _meta(result)
    assert schema_problems("capture", meta) == []
    tls = meta["tls"]
    assert tls["verified"] is False and tls["errors_ignored"] is False
    assert tls["error"].startswith("net::ERR_CERT_")
    assert tls["certificate_chain_pem"][0] == tls_site.cert_pem
    assert "not the browser's connection" in tls["source"]
    assert {f.artefact.name for f in result.files} == {"capture.warc.gz", "metadata.json"}


def test_with_ignore_https_errors_the_page_is_captured_and_the_tls_facts_kept(
    tls_site: FixtureSite, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"cookies": [], "origins": []}), encoding="utf-8")
    options = CaptureOptions(
        timeout_s=30,
        ignore_https_errors=True,
        user_agent=USER_AGENT,
        viewport=(800, 600),
        storage_state=state,
        region="DE",
        pdf=True,
    )
    ad, echo = capture_many(
        [tls_site.url("/jobs/domestic-work.html"), tls_site.url("/headers-echo")], options, tmp_path / "work"
    )
    assert ad.status == "complete", ad.reasons
    meta = _meta(ad)
    assert schema_problems("capture", meta) == []
    tls = meta["tls"]
    assert tls["certificate_chain_pem"][0] == tls_site.cert_pem
    assert tls["errors_ignored"] is True and tls["verified"] is False
    assert tls["connection"]["protocol"].startswith("TLS")
    assert tls["connection"]["cipher"]
    assert "Network.getCertificate" in tls["source"]
    assert any(r["code"] == "https-errors-ignored" for r in meta["reasons"])
    assert meta["settings"]["ignore_https_errors"] is True

    # the options reached the browser and the metadata
    assert meta["settings"]["user_agent"] == USER_AGENT
    assert meta["settings"]["user_agent_source"] == "option"
    digests = hash_file(state)
    assert meta["settings"]["storage_state"] == digests.to_dict()
    assert "cookies" not in json.dumps(meta["settings"])
    folder = next(f.path for f in ad.files if f.artefact.name == "metadata.json").parent
    with Image.open(folder / "screenshot-viewport.png") as image:
        assert image.size == (800, 600)
    pdf = folder / "page.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert any(f.artefact.name == "page.pdf" and f.artefact.role == "pdf" for f in ad.files)
    phones = {i["value"] for i in ad.indicators if i["kind"] == "phone"}
    assert "+49301234567" in phones  # "030 1234567" read as a German number
    echoed = (next(f.path for f in echo.files if f.artefact.name == "metadata.json").parent / "text.txt").read_text(
        encoding="utf-8"
    )
    assert USER_AGENT in echoed
