"""Gather the facts the report and the certificate drafts are rendered from (shape: ``report_facts``).

Everything comes from the bag being built: the plan (case, items, ledger entries, checkpoint, keys) and
the files already laid out under the bag root (each capture's metadata.json and screenshots).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidencekit.bundle.documents.pngsize import png_size
from evidencekit.bundle.documents.popup_facts import popups_not_captured
from evidencekit.bundle.documents.report_links import link_facts
from evidencekit.bundle.documents.report_media import media_facts
from evidencekit.bundle.documents.timefacts import item_time, time_facts
from evidencekit.bundle.documents.timeline_facts import time_lookup, timeline_facts
from evidencekit.bundle.layout import ANALYSIS, artefact_path, item_folder
from evidencekit.hashing import Digests
from evidencekit.ledger.entries import (
    NOT_KNOWN,
    CaptureAbandoned,
    CaptureCompleted,
    CaptureEnded,
    CaptureFailed,
    CaptureStarted,
    CaseConfigured,
    FileAdded,
    FolderAdded,
    NoteAdded,
    Parsed,
    WatchAdded,
    given_note,
    item_kind,
    parse,
    summary,
)
from evidencekit.models import LedgerEntry

if TYPE_CHECKING:
    from evidencekit.bundle.export import ExportItem, ExportPlan

# The screenshots the report shows, by the role the capture recorded them under.
SCREENSHOT_ROLES = (("screenshot-full", "full-page"), ("screenshot-viewport", "viewport"))
# Capture settings a certificate may state; the login state and URL credentials never leave the case.
SHOWN_SETTINGS = ("viewport", "user_agent", "timeout_ms", "proxy", "region", "fingerprint", "consent")


def _metadata(root: Path, item: ExportItem) -> dict[str, Any]:
    path = root / artefact_path(item.item_id, "metadata.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _screenshots(root: Path, item: ExportItem) -> list[dict[str, Any]]:
    """The capture's own screenshots (never a file added by hand that happens to share the name)."""
    if item.kind != "capture":
        return []
    shots = []
    for role, shown_as in SCREENSHOT_ROLES:
        artefact = next((a for a, _ in item.artefacts if a.role == role), None)
        if artefact is None:
            continue
        rel = artefact_path(item.item_id, artefact.name)
        size = png_size(root / rel)
        shots.append(
            {
                "role": shown_as,
                "path": rel,
                "width": size[0] if size else None,
                "height": size[1] if size else None,
                "size": artefact.digests.size,
            }
        )
    return shots


def _images_exif(item: ExportItem, metadata: Mapping[str, Any], first: LedgerEntry) -> list[dict[str, Any]]:
    found = []
    for image in metadata.get("images") or []:
        exif = image.get("exif") if isinstance(image, dict) else None
        if isinstance(exif, dict):
            found.append({"path": artefact_path(item.item_id, str(image.get("artefact"))), **_exif_fields(exif)})
    added = parse(first)
    if isinstance(added, FileAdded) and added.exif is not None and item.artefacts:
        found.append({"path": artefact_path(item.item_id, item.artefacts[0][0].name), **_exif_fields(added.exif)})
    return found


def _exif_fields(exif: Mapping[str, Any]) -> dict[str, Any]:
    fields = {k: exif.get(k) for k in ("make", "model", "datetime_original", "error")}
    if isinstance(exif.get("gps"), dict):
        fields["gps"] = {k: exif["gps"].get(k) for k in ("latitude", "longitude")}
    return fields


def _label(created: Parsed, item_id: str) -> str:
    if isinstance(created, FileAdded | FolderAdded):
        return created.original_name
    if isinstance(created, CaptureStarted):
        return created.url
    return item_id


def _status(kind: str, ended: Parsed | None, abandoned: bool = False) -> str:
    """The item's status as its entries state it; a capture's ending entry that cannot be read: not known.
    A capture whose run died before it ended is "abandoned" (recorded by the next command), as in `items`."""
    if kind != "capture":
        return "added"
    if ended is None:
        return "abandoned" if abandoned else "started"
    return ended.status if isinstance(ended, CaptureEnded) else NOT_KNOWN


def item_notes(entries: Sequence[LedgerEntry]) -> list[dict[str, Any]]:
    """Every note the ledger records about an item, oldest first: one given when the item was recorded
    (``add --note``, ``capture --note``: in the creating entry's details) and each ``note.added`` about it."""
    return [
        {"seq": e.seq, "time": e.time, "tz": e.tz, "text": text, "actor": e.actor.to_dict()}
        for e in entries
        if (text := _note_of(e))
    ]


def _item_facts(
    root: Path,
    item: ExportItem,
    digests: Mapping[str, Digests],
    exhibit: str,
    account: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    first = item.entries[0]
    created = parse(first)
    kind = item_kind(first.action) or item.kind
    metadata = _metadata(root, item) if kind == "capture" else {}
    done = next((e for e in item.entries if e.action in (CaptureCompleted.ACTION, CaptureFailed.ACTION)), None)
    ended = parse(done) if done is not None else None
    http = metadata.get("http") or {}
    times = metadata.get("times") or {}
    indicators_path = root / artefact_path(item.item_id, "indicators.json")
    try:
        indicators = json.loads(indicators_path.read_text(encoding="utf-8")) if indicators_path.is_file() else []
    except ValueError:
        indicators = []
    prefix = item_folder(item.item_id) + "/"
    facts: dict[str, Any] = {
        "item_id": item.item_id,
        "number": item.number,
        "exhibit": exhibit,
        "kind": kind,
        "label": _label(created, item.item_id),
        "status": _status(kind, ended, any(e.action == CaptureAbandoned.ACTION for e in item.entries)),
        "reasons": list(metadata.get("reasons") or (ended.reasons if isinstance(ended, CaptureEnded) else ())),
        "error": ended.error if isinstance(ended, CaptureEnded) else None,
        "artefacts": [
            {
                "path": rel,
                "role": _role(item, rel),
                "media_type": _media_type(item, rel),
                "size": d.size,
                "sha256": d.sha256,
                "blake3": d.blake3,
                "recorded": _recorded(item, rel),
                "recorded_with": _recorded_with(item, rel),
            }
            for rel, d in sorted(digests.items())
            if rel.startswith(prefix)
        ],
        "screenshots": _screenshots(root, item),
        "indicators": indicators if isinstance(indicators, list) else indicators.get("indicators", []),
        "images_exif": _images_exif(item, metadata, first),
        "notes": item_notes(item.entries),
        "started": times.get("started") or first.time,
        "ended": times.get("ended") or (done.time if done else None),
        "tz": times.get("local_zone") or first.tz,
    }
    if kind == "capture":
        facts.update(
            requested_url=metadata.get("requested_url")
            or (created.url if isinstance(created, CaptureStarted) else None),
            final_url=metadata.get("final_url"),
            address_bar_url=metadata.get("address_bar_url"),  # metadata 1.3.0: only where the page set it
            redirect_chain=[
                {"url": r.get("url"), "status": r.get("status")} for r in metadata.get("redirect_chain") or []
            ],
            http_status=http.get("status"),
            title=metadata.get("title"),
            server_ip=http.get("server_ip"),
            browser=(metadata.get("browser") or {}).get("product"),
            user_agent=(metadata.get("settings") or {}).get("user_agent"),
            blocked=_blocked(metadata, ended),
            steps=[
                {"step": step.get("step"), "at": step.get("at"), "offset_ms": step.get("offset_ms")}
                for step in times.get("steps") or []
                if isinstance(step, dict)
            ],
            screenshot_scroll_y=_screenshot_scroll_y(metadata),
            media=media_facts(item.item_id, metadata),
            settings=_settings(metadata),
            **_logged_in(metadata, first, account),
            # Pop-ups (issue 16), as the ledger links them: the item of the page that opened this one, and
            # the items of the pop-up windows this page opened.
            opened_by=created.opened_by if isinstance(created, CaptureStarted) else None,
            opened_at=created.opened_at if isinstance(created, CaptureStarted) else None,
            popups_not_captured=popups_not_captured(metadata),
            opened=list(ended.opened) if isinstance(ended, CaptureEnded) and ended.opened else [],
        )
    return facts


def _logged_in(metadata: Mapping[str, Any], first: LedgerEntry, account: Mapping[str, Any] | None) -> dict[str, Any]:
    """``profile`` (the browser profile a capture was made logged in with: name, digest, and the account only
    where ``export --disclose-accounts`` named it) and ``vantage``, from metadata.json, else the ledger."""
    settings: Mapping[str, Any] = metadata.get("settings") or {} if isinstance(metadata.get("settings"), dict) else {}
    options: Mapping[str, Any] = (
        first.details.get("options") or {} if isinstance(first.details.get("options"), dict) else {}
    )
    profile = settings.get("profile") or options.get("profile")
    vantage = settings.get("vantage") or options.get("vantage")
    found: dict[str, Any] = {"vantage": vantage if isinstance(vantage, str) else None}
    if isinstance(profile, dict):
        check = profile.get("check")
        found["profile"] = {
            "name": str(profile.get("name")),
            "digest": profile.get("digest"),
            "check_url": check.get("url") if isinstance(check, dict) else None,
            "account_named": isinstance((options.get("profile") or {}).get("account"), str),
            # true (before the second look at issue 16), "checked" or "not checked"; see report_items
            "logged_in": profile.get("logged_in"),
            "checked_at": profile.get("checked_at"),
            "check_host": check.get("host") if isinstance(check, dict) else None,
        }
        if account and isinstance(account.get("account"), str):
            found["profile"].update(account=account["account"], account_key=account.get("key"))
        if account and isinstance(account.get("check"), dict):  # export --disclose-accounts, checked digest
            found["profile"]["check_disclosed"] = dict(account["check"])
    return found


def _blocked(metadata: dict[str, Any], ended: Parsed | None) -> dict[str, Any] | None:
    """What a blocked capture showed instead of the content: metadata.json's record, else the ledger's."""
    recorded = metadata.get("blocked")
    if not isinstance(recorded, dict) and isinstance(ended, CaptureEnded) and ended.blocked is not None:
        recorded = dict(ended.blocked)
    return recorded if isinstance(recorded, dict) else None


def fingerprint_words(recorded: Any) -> str | None:
    """settings.fingerprint in one line: "no stealth; <each change>; locale and time zone not set"."""
    if not isinstance(recorded, dict) or not isinstance(recorded.get("changes"), list):
        return None
    said = ["no stealth" if recorded.get("stealth") is False else "stealth not recorded"]
    said += [str(change) for change in recorded["changes"]]
    unset = [name for name, key in (("locale", "locale"), ("time zone", "timezone")) if recorded.get(key) is None]
    if unset:
        said.append(f"{' and '.join(unset)} not set (the browser's and the host's own)")
    return "; ".join(said)


def _settings(metadata: dict[str, Any]) -> dict[str, Any]:
    settings = metadata.get("settings")
    if not isinstance(settings, dict):
        return {}
    shown = {name: settings.get(name) for name in SHOWN_SETTINGS if settings.get(name) is not None}
    if "fingerprint" in shown:
        shown["fingerprint"] = fingerprint_words(shown["fingerprint"])
    viewport = shown.get("viewport")
    if isinstance(viewport, dict):
        shown["viewport"] = f"{viewport.get('width')} x {viewport.get('height')} px"
    return {name: value for name, value in shown.items() if isinstance(value, str | int) and value is not True}


def _screenshot_scroll_y(metadata: dict[str, Any]) -> int | None:
    """Where the page stood when its full-page image was rendered (metadata 1.2.0 and later)."""
    page = metadata.get("page")
    shot = page.get("screenshot") if isinstance(page, dict) else None
    value = shot.get("scroll_y") if isinstance(shot, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _recorded(item: ExportItem, rel: str) -> bool:
    """Whether the ledger recorded this file (and its digests) when the item was acquired; the others
    (metadata.json of an added file, capture.wacz) were made from them at export."""
    name = rel.split("/", 3)[-1]
    return any(a.name == name for a, _ in item.artefacts)


def _recorded_with(item: ExportItem, rel: str) -> str | None:
    """The action of the entry that recorded this file (an observation's diff files are recorded after the
    capture they belong to), or None for a file made at export."""
    name = rel.split("/", 3)[-1]
    return next((e.action for e in item.entries for a in e.artefacts if a.name == name), None)


def _role(item: ExportItem, rel: str) -> str:
    name = rel.split("/", 3)[-1]
    return next((a.role for a, _ in item.artefacts if a.name == name), "derived")


def _media_type(item: ExportItem, rel: str) -> str:
    name = rel.split("/", 3)[-1]
    known = next((a.media_type for a, _ in item.artefacts if a.name == name), None)
    if known:
        return known
    return {"metadata.json": "application/json", "capture.wacz": "application/wacz"}.get(
        name, "application/octet-stream"
    )


def custody_facts(entries: Sequence[LedgerEntry]) -> list[dict[str, Any]]:
    """The report's chain-of-custody rows: every entry, an action this version does not know too, each with
    its one-line summary (which says so for an unknown action)."""
    return [
        {
            "seq": e.seq,
            "time": e.time,
            "tz": e.tz,
            "action": e.action,
            "actor": e.actor.to_dict(),
            "subject": e.subject,
            "summary": summary(e),
            # A note is shown whole, line breaks and all, not as its one-line summary; so is one given when
            # an item was recorded (``add --note``, ``capture --note``).
            **({"note": text} if (text := _note_of(e)) else {}),
        }
        for e in entries
    ]


def _note_of(entry: LedgerEntry) -> str | None:
    parsed = parse(entry)
    return parsed.text if isinstance(parsed, NoteAdded) else given_note(parsed)


def _counts(
    items: Sequence[Mapping[str, Any]], entries: Sequence[LedgerEntry], digests: Mapping[str, Digests]
) -> dict[str, int]:
    """What the bag holds before its documents, each count named for what it counts (the report, the
    certificates and bag-info's Payload-Oxum count different things and say which)."""
    files = [a for item in items for a in item["artefacts"]]
    recorded = sum(1 for a in files if a["recorded"])
    analysis = sum(1 for rel in digests if rel.startswith(ANALYSIS + "/"))
    return {
        "items": len(items),
        "item_files": len(files),
        "item_files_recorded_at_acquisition": recorded,
        "item_files_made_at_export": len(files) - recorded,
        "custody_files": len(digests) - len(files) - analysis,
        **({"analysis_files": analysis} if analysis else {}),
        "ledger_entries": len(entries),
    }


def case_notes(entries: Sequence[LedgerEntry]) -> list[dict[str, Any]]:
    """Notes on the case as a whole (no item named), and the note given with a watch (``watch add --note``:
    the investigator's recorded reason for watching), in ledger order."""
    notes = []
    for e in entries:
        parsed = parse(e)
        if e.subject is None and isinstance(parsed, NoteAdded):
            text = parsed.text
        elif isinstance(parsed, WatchAdded) and parsed.note:
            text = f"{parsed.note} (given when {parsed.watch} was set to watch {parsed.url})"
        else:
            continue
        notes.append({"seq": e.seq, "time": e.time, "tz": e.tz, "text": text, "actor": e.actor.to_dict()})
    return notes


def case_zone(entries: Sequence[LedgerEntry]) -> str | None:
    """The zone people read this case's times in: the newest ``case.configured`` entry's (None: not set)."""
    zone = None
    for entry in entries:
        if isinstance(configured := parse(entry), CaseConfigured):
            zone = configured.timezone
    return zone


def gather_facts(
    root: Path, plan: ExportPlan, digests: Mapping[str, Digests], verify_commands: Sequence[str]
) -> dict[str, Any]:
    signer = plan.signer.public
    entries = [LedgerEntry.from_raw(raw) for _, raw in plan.ledger_lines]
    items = [
        _item_facts(root, item, digests, plan.exhibit(item), plan.accounts.get(item.item_id)) for item in plan.items
    ]
    time_case, time_items = time_facts(plan.time_evidence, {item.item_id: item.entries for item in plan.items})
    for item in items:
        item["time"] = time_items.get(item["item_id"]) or item_time(None, ())
    return {
        "case": {**plan.case.to_dict(), "timezone": case_zone(entries), "notes": case_notes(entries)},
        "bundle": {
            "created": plan.created,
            "software": plan.software,
            "recipient": plan.recipient,
            "purpose": plan.purpose,
            "report_pdf": plan.report_pdf,
            "paper": plan.paper,
            "tag_manifest_sha256": None,
            "checkpoint": {
                "tree_size": plan.checkpoint.size,
                "root": "blake3:" + plan.checkpoint.root.hex(),
                "key_id": signer.key_id,
                "note": plan.note.text(),
            },
            "signer": {
                "investigator": plan.signer.investigator,
                "key_id": signer.key_id,
                "public_key_pem": signer.pem(),
            },
            "counts": _counts(items, entries, digests),
        },
        "items": items,
        "custody": custody_facts(entries),
        "links": link_facts(entries),
        "timelines": timeline_facts(
            root,
            entries,
            items,
            time_lookup(plan.time_evidence.entries if plan.time_evidence else (), time_case.get("tokens") or ()),
            plan.series,
        ),
        "time": time_case,
        "verify": {"commands": list(verify_commands)},
    }
