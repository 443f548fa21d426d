"""A browser profile's secret values on the media path (review 16b, X1): yt-dlp's info JSON and subtitle
files, moved into the capture folder rather than written through it, and the media items' URLs are redacted
by value as every other text is. The browser test (test_profiles_secrets) covers the WARC records and the
items of a real page; here, the text files a site extractor leaves, which that page has none of."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from evidencekit.capture.artefacts import ArtefactFolder
from evidencekit.capture.media_run import Kept, MediaRun
from evidencekit.capture.media_warc import SUBTITLES_NOT_AS_SERVED, commit
from evidencekit.capture.options import CaptureOptions
from evidencekit.capture.profilesecrets import ProfileSecrets
from evidencekit.capture.state import CaptureState

TOKEN = "LS-4f1c9a7e2b8d6c30"
SALT = b"case salt for the media secrets test"


def test_info_json_subtitles_and_items_hold_no_profile_value(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    worker_folder = ArtefactFolder(scratch)
    (scratch / "media").mkdir()
    url = f"http://127.0.0.1:1/video.mp4?access_token={TOKEN}"
    (scratch / "media" / "video.info.json").write_text(json.dumps({"url": url, "title": "Nanny"}), encoding="utf-8")
    (scratch / "media" / "video.en.vtt").write_text(f"WEBVTT\n\n00:00.000 --> 00:01.000\nkey {TOKEN}\n", "utf-8")
    run = SimpleNamespace(
        folder=worker_folder,
        kept=[
            Kept("media/video.info.json", "media-info", "application/json", None),
            Kept("media/video.en.vtt", "media-subtitles", "text/vtt", None),
        ],
        reasons=[],
        items=[
            {"url": url, "final_url": url, "artefact": "media/video.en.vtt", "outcome": "kept", "source": "extractor"}
        ],
    )
    state = CaptureState(
        capture_id="media-secrets",
        requested_url="http://127.0.0.1:1/page",
        options=CaptureOptions(),
        browser=cast(Any, None),
        folder=ArtefactFolder(tmp_path / "capture"),
        proxy=None,
        storage_state=None,
        salt=SALT,
    )
    state.secrets = ProfileSecrets([TOKEN], SALT)
    items = commit(state, cast(MediaRun, run))
    assert TOKEN not in json.dumps(items)
    assert items[0]["url"] == items[0]["final_url"]
    assert items[0]["url"].startswith("http://127.0.0.1:1/video.mp4?access_token=redacted-hmac-sha256-")
    assert items[0]["note"] == SUBTITLES_NOT_AS_SERVED
    for name in ("media/video.info.json", "media/video.en.vtt"):
        kept = (tmp_path / "capture" / name).read_text(encoding="utf-8")
        assert TOKEN not in kept and "hmac-sha256:" in kept
    places = {where for where, _ in state.secrets.places}
    assert {"file media/video.info.json", "file media/video.en.vtt", "metadata media url"} <= places
