"""What a media worker kept, recorded on the loop side once the worker has ended: each scratch file moved
into the capture folder and registered, each original (role ``media``/``media-subtitles``) written to the
WARC as a resource record under the URL that sent it, with a metadata record of the URL asked for, the
redirects, the status and the response headers (secrets redacted), and the worker's reasons added."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import Any

from evidencekit.capture.exchange import BODY_COMPLETE, BODY_DECODED
from evidencekit.capture.media_run import MediaRun
from evidencekit.capture.profilesecrets import ProfileSecrets
from evidencekit.capture.redact import redact_headers, redacted
from evidencekit.capture.state import CaptureState

_ORIGINAL_ROLES = frozenset({"media", "media-subtitles"})
_TEXT_ROLES = frozenset({"media-info", "media-subtitles"})
SUBTITLES_NOT_AS_SERVED = "not as served: a browser profile's secret value redacted (see profile_redactions)"
_SHORTEST_SECRET = 6  # shorter values would match by chance (and say little)


def commit(state: CaptureState, run: MediaRun, secrets: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Register what ``run`` kept (its worker has ended) and return its items, ready for the metadata.
    ``secrets`` (the cookie values and proxy password yt-dlp was given) are a tripwire: a site extractor
    that echoes one into its info JSON or its items has it replaced by its keyed digest, as elsewhere."""
    secrets = [secret for secret in secrets if len(secret) >= _SHORTEST_SECRET]
    renamed: dict[str, str] = {}
    _not_as_served: dict[str, bool] = {}
    taken = set(state.folder.names())
    for kept in run.kept:
        source = run.folder.root / kept.name
        if not source.is_file():
            continue
        name = kept.name
        if name in taken:  # the page's own capture never writes under media/, but never overwrite
            folder, _, base = name.rpartition("/")
            name = state.folder.unique_name(folder, base, "media", "." + base.rpartition(".")[2] if "." in base else "")
            renamed[kept.name] = name
        taken.add(name)
        if kept.role in _TEXT_ROLES and state.secrets is not None:
            # The profile's secret values (a token in a media URL yt-dlp echoes, a subtitle URL), by value, as
            # in every text artefact: moved here rather than written, the file misses ArtefactFolder.write's pass.
            original = source.read_bytes()
            cleaned = state.secrets.data(original, f"file {name}")
            if cleaned != original:
                source.write_bytes(cleaned)
                if kept.role == "media-subtitles":
                    _not_as_served[kept.name] = True
        if kept.role == "media-info" and secrets:
            source.write_bytes(_without(source.read_bytes().decode("utf-8"), secrets, state.salt).encode("utf-8"))
        path = state.folder.reserve(name, kept.role, kept.media_type)
        shutil.move(source, path)
        fetched = kept.fetched
        if fetched is None or kept.role not in _ORIGINAL_ROLES or state.warc is None or state.warc_error is not None:
            continue
        try:
            state.warc.write_resource_file(
                fetched.final_url or fetched.url,
                path,
                kept.media_type,
                fetched.fetched,
                asked_url=fetched.url,
                response=(fetched.status, list(fetched.headers.items())),
                redirects=[(hop["url"], hop["status"], hop["location"]) for hop in fetched.redirects],
            )
        except (OSError, ValueError) as exc:
            state.warc_error = f"writing a media record to the WARC failed: {exc}"
    for code, text, effect in run.reasons:
        state.reasons.add(code, text, effect)
    _browser_copies(state, run.items)
    items = run.items
    if state.secrets is not None:
        items = [_profile_free(item, state.secrets, set(_not_as_served)) for item in items]
    return [_recorded(item, renamed, state.salt, secrets) for item in items]


def _profile_free(value: Any, secrets: ProfileSecrets, redacted_files: set[str], key: str = "") -> Any:
    """A media item with the profile's secret values replaced by value: its URLs in the URL form, so that each
    agrees with the WARC record's target URI (see ``WarcSink.write_resource_file``); a subtitle file that held
    one says it is not as served."""
    if isinstance(value, dict):
        out = {
            inner_key: _profile_free(inner, secrets, redacted_files, inner_key) for inner_key, inner in value.items()
        }
        if out.get("artefact") in redacted_files and "role" not in out:  # an item, not one of its parts
            out["note"] = (str(out.get("note") or "") + "; " if out.get("note") else "") + SUBTITLES_NOT_AS_SERVED
        return out
    if isinstance(value, list):
        return [_profile_free(inner, secrets, redacted_files, key) for inner in value]
    if isinstance(value, str):
        if key.endswith(("url", "location")) or value.startswith(("http://", "https://")):
            return secrets.url(value, "metadata media url")
        return secrets.text(value, "metadata media")
    return value


def _browser_copies(state: CaptureState, items: list[dict[str, Any]]) -> None:
    """A media file the second fetch did not keep (a one-time or expired URL, say) may still be in the
    capture: the browser's own response, complete, in the WARC. The item says so rather than only "not kept"."""
    exchanges = state.network.exchanges if state.network is not None else []
    whole = {
        exchange.url: exchange
        for exchange in exchanges
        if exchange.status == 200 and exchange.body_state in (BODY_COMPLETE, BODY_DECODED) and exchange.written
    }
    for item in items:
        exchange = whole.get(str(item.get("url")))
        if item.get("artefact") is None and item.get("outcome") != "kept" and exchange is not None:
            decoded = " (as the browser decoded it)" if exchange.body_state == BODY_DECODED else ""
            item["in_warc"] = (
                f"the browser's own response to this URL (HTTP 200, {exchange.body_size} bytes{decoded}) "
                "is in the capture's WARC"
            )


def _without(text: str, secrets: Sequence[str], salt: bytes) -> str:
    for secret in secrets:
        text = text.replace(secret, redacted(salt, secret))
    return text


def _recorded(value: Any, renamed: dict[str, str], salt: bytes, secrets: Sequence[str]) -> Any:
    if isinstance(value, dict):
        out = {key: _recorded(inner, renamed, salt, secrets) for key, inner in value.items()}
        if isinstance(value.get("response_headers"), dict):
            out["response_headers"] = dict(redact_headers(list(value["response_headers"].items()), salt))
        return out
    if isinstance(value, list):
        return [_recorded(inner, renamed, salt, secrets) for inner in value]
    if isinstance(value, str):
        return _without(renamed.get(value, value), secrets, salt)
    return value
