"""Video and audio of a captured page, kept as the original bytes the server sent.

After the page is captured (its slot in the batch already freed for the next page), its media are found
(``media_find``: the page's ``<video>``/``<audio>`` elements read in the capture's own world, media
responses and HLS/DASH playlists in the network log) and, when there are any or ``--media`` asks yt-dlp's
site extractors too, fetched with yt-dlp used as a library on a worker thread (``media_run``), with the
browser's proxy, the browser context's cookies for those URLs (recorded only as names and keyed digests)
and the private-network rule of the page. All media of one capture share ``media_timeout_s``; each file
(or HLS stream with its segments) may be at most ``media_max_bytes``: past that, reading stops and the
file is not kept (a truncated file is not what the server sent), and the capture is ``partial``.
A page without media costs a script call and a pass over the network log in memory, nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture import media_probe
from evidencekit.capture.media_fetch import Cookie, Fetcher
from evidencekit.capture.media_find import MAX_FOUND, Found, find_media, made_in_page
from evidencekit.capture.media_run import MAX_ENTRIES, Limits, MediaRun, unfetched_item
from evidencekit.capture.media_warc import commit
from evidencekit.capture.metadata import NOTE
from evidencekit.capture.options import GRACE_S, ProxySettings
from evidencekit.capture.redact import redacted
from evidencekit.capture.state import CaptureState

_COOKIES_S = 5.0
USED_AS = "library: YoutubeDL.urlopen for files, playlists and segments; extract_info for site extractors"


@dataclass
class MediaPlan:
    found: list[Found]
    cut: bool  # more than MAX_FOUND were named
    cookies: list[Cookie]


async def plan_media(state: CaptureState, context: BrowserContext | None) -> MediaPlan | None:
    """What to fetch for a captured page, with the cookies the browser would send along; None: nothing.
    Ctrl-C while the cookies are read marks the capture interrupted and returns (the page is still
    assembled and reported)."""
    if not state.arrived or state.interrupted:
        return None
    exchanges = state.network.exchanges if state.network is not None else []
    found, cut = find_media(state.media_elements or [], exchanges)
    if made := made_in_page(state.media_elements or []):
        state.reasons.add(
            "media-made-in-page",
            f"{', '.join(sorted(set(made))[:5])} played a blob: or data: stream the page made itself "
            "(MediaSource): there is no URL to fetch; what the browser received for it is in the WARC"
            + ("" if found else ", and no media response in the network log was recognised"),
            NOTE,
        )
    if not found and not state.options.media:
        return None
    cookies: list[Cookie] = []
    if context is not None:
        urls = [state.requested_url, *(media.url for media in found)]
        try:
            with contextlib.suppress(PlaywrightError, TimeoutError):
                for cookie in await asyncio.wait_for(context.cookies(urls), _COOKIES_S):
                    cookies.append(
                        Cookie(
                            name=str(cookie.get("name", "")),
                            value=str(cookie.get("value", "")),
                            domain=str(cookie.get("domain", "")),
                            path=str(cookie.get("path", "/")),
                            secure=bool(cookie.get("secure", False)),
                            expires=float(cookie.get("expires", -1) or -1),
                        )
                    )
        except asyncio.CancelledError:
            state.interrupted = True
    return MediaPlan(found, cut, cookies)


def not_fetched(state: CaptureState, plan: MediaPlan, why: str) -> None:
    """The media block of a capture whose planned media were not fetched (Ctrl-C before the fetch began)."""
    state.media = _block(state, plan, _params(state), [], [], given_up=why)
    state.reasons.add("media-not-fetched", f"the page's media were not fetched: {why}")


async def fetch_media(state: CaptureState, plan: MediaPlan) -> None:
    """Fetch the planned media on a worker thread (other pages of the batch go on), never past the media
    time limit and a grace period: a stalled server, a slow disk or Ctrl-C end it. Only once the worker
    has ended are its files registered, written to the WARC and recorded (on this side); a worker given
    up on has nothing registered, its scratch folder is removed, and the media block says so."""
    options = state.options
    stop = threading.Event()
    deadline = time.monotonic() + options.media_timeout_s
    scratch = state.folder.root.with_name(f".{state.folder.root.name}.media")
    params = _params(state)
    runs: list[tuple[MediaRun, Fetcher]] = []
    abandoned = threading.Event()

    def worker() -> None:
        try:
            runs.append(_start(state, plan, params, stop, deadline, scratch))
            runs[0][0].run(plan.found, options.media)
        finally:
            if abandoned.is_set():  # given up on: nothing of it is recorded, and it leaves nothing behind
                shutil.rmtree(scratch, ignore_errors=True)

    state.step("media-fetch")
    work = _in_thread(worker)
    given_up: str | None = None
    try:
        await asyncio.wait({work}, timeout=options.media_timeout_s + GRACE_S)
    except asyncio.CancelledError:
        # Ctrl-C: the worker stops between two reads; what it kept is still recorded if it ends in time.
        stop.set()
        state.interrupted = True
        await asyncio.wait({work}, timeout=GRACE_S)
        if not work.done():
            given_up = "the capture was interrupted and the media fetch did not stop within the grace period"
    if not work.done() and given_up is None:
        # The time limit and a grace period passed: the worker is told to stop, whatever it kept after the
        # time limit is not what the limit allowed, so the capture is partial either way.
        stop.set()
        state.reasons.add("media-timeout", f"fetching media did not end within {options.media_timeout_s:g} s")
        await asyncio.wait({work}, timeout=GRACE_S)
        if not work.done():
            given_up = (
                f"fetching media did not end within {options.media_timeout_s:g} s and twice {GRACE_S:g} s of grace"
            )
    failure = work.exception() if work.done() and not work.cancelled() else None
    run, fetcher = runs[0] if runs else (None, None)
    if given_up is not None or run is None or fetcher is None:
        abandoned.set()
        state.media = _block(state, plan, params, [], [], given_up=given_up or "the media fetch could not start")
    else:
        given = [cookie.value for cookie in plan.cookies]
        given += [state.proxy.password] if state.proxy is not None and state.proxy.password else []
        committed = commit(state, run, given)
        warnings = fetcher.logger.warnings
        state.media = _block(state, plan, params, committed, warnings, blocked=fetcher.blocked)
    if failure is not None:
        text = f"fetching media failed: {type(failure).__name__}: {failure}"
        state.reasons.add("media-failed", text.replace(str(scratch), "."))
    with contextlib.suppress(OSError):
        shutil.rmtree(scratch, ignore_errors=True)  # a worker given up on removes what it writes later itself
    state.step("media-fetched")


def _in_thread(work: Callable[[], None]) -> asyncio.Future[None]:
    """Run ``work`` on a daemon thread of its own (a ``to_thread`` that nothing waits for at exit): a read
    blocked on a stalled server until the media deadline must not hold up the end of a run given up by
    Ctrl-C; it writes only into its own scratch folder, never the capture's."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    done.add_done_callback(lambda future: future.cancelled() or future.exception())  # retrieved even if given up

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(None)

    def run() -> None:
        error: BaseException | None = None
        try:
            work()
        except Exception as exc:  # handed to the capture as a reason
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=run, name="evidencekit-media", daemon=True).start()
    return done


def _start(
    state: CaptureState, plan: MediaPlan, params: dict[str, Any], stop: threading.Event, deadline: float, scratch: Path
) -> tuple[MediaRun, Fetcher]:
    options = state.options
    guard = state.private_network
    fetcher = Fetcher(
        {**params, "proxy": _proxy_url(state.proxy)},
        plan.cookies,
        max_bytes=options.media_max_bytes,
        deadline=deadline,
        check_private=guard.enforcing if guard is not None else not options.allow_private_network,
        resolve_names=state.proxy is None,
        stop=stop,
        page_url=state.requested_url,
    )
    limits = Limits(state.requested_url, options.media_max_bytes, options.media_timeout_s)
    return MediaRun(fetcher, stop, scratch, limits), fetcher


def _block(
    state: CaptureState,
    plan: MediaPlan,
    params: dict[str, Any],
    items: list[dict[str, Any]],
    warnings: list[str],
    *,
    given_up: str | None = None,
    blocked: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    from yt_dlp.version import __version__ as yt_dlp_version

    options = state.options
    if plan.cut:
        state.reasons.add(
            "media-not-all-fetched",
            f"the page named more than {MAX_FOUND} media URLs; the first {MAX_FOUND} were fetched",
        )
    if given_up is not None:
        items = [_unfetched(media, given_up) for media in plan.found]
    block: dict[str, Any] = {
        "tool": {
            "name": "yt-dlp",
            "version": yt_dlp_version,
            "used_as": USED_AS,
            "options": _recorded(params, state, plan),
            "warnings": warnings,
        },
        "ffmpeg": {
            "source": "imageio-ffmpeg",
            "version": media_probe.ffmpeg_version(),
            "used_for": "duration and poster frame; never on the kept bytes",
        },
        "limits": {"max_bytes": options.media_max_bytes, "timeout_ms": int(options.media_timeout_s * 1000)},
        "extractors": options.media,
        "found": len(plan.found),
        "more_than_listed": plan.cut,
        "items": items,
    }
    if given_up is not None:
        block["given_up"] = {"why": given_up, "registered": "nothing the media fetch kept was recorded"}
    if blocked:
        block["blocked"] = blocked
    return block


def _unfetched(media: Found, why: str) -> dict[str, Any]:
    kind = "subtitles" if media.subtitles else ("file" if media.kind not in ("hls", "dash") else media.kind)
    return unfetched_item(media, media.url, kind, media.source, why)


def _params(state: CaptureState) -> dict[str, Any]:
    """yt-dlp's options (all recorded, the proxy as its display): no files of its own, no post-processing."""
    user_agent = state.options.user_agent or state.browser.capture_user_agent
    return {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "noplaylist": True,
        # A site extractor's playlist (a channel, a profile) is read lazily and only its first entries.
        "lazy_playlist": True,
        "playlist_items": f"1:{MAX_ENTRIES}",
        "playlistend": MAX_ENTRIES,
        "cachedir": False,
        "socket_timeout": max(1, int(state.options.media_timeout_s)),
        "nocheckcertificate": state.options.ignore_https_errors,
        "http_headers": {
            "User-Agent": user_agent,
            # The page's origin, as a browser sends to other sites; its own origin gets the full URL (``Fetcher``).
            "Referer": _origin(state.requested_url),
            "Accept": "*/*",
            "Accept-Encoding": "identity",  # the bytes as the server sends them, never a decoded copy
        },
        "allowed_extractors": ["default", "-generic"],  # the page's own media are found from the page
        "check_formats": False,
        "postprocessors": [],
        "color": "no_color",
    }


def _recorded(params: dict[str, Any], state: CaptureState, plan: MediaPlan) -> dict[str, Any]:
    return {
        **params,
        "proxy": state.proxy.display if state.proxy is not None else None,
        # Which cookies went along, never their values: each value is a keyed digest (see ``redact``).
        "cookies": [
            {
                "name": cookie.name,
                "domain": cookie.domain,
                "path": cookie.path,
                "value": redacted(state.salt, cookie.value),
            }
            for cookie in plan.cookies
        ],
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/"  # never a user name or password


def _proxy_url(proxy: ProxySettings | None) -> str:
    """The browser's proxy for yt-dlp ("" means a direct connection, never the environment's proxy)."""
    if proxy is None:
        return ""
    if proxy.username is None:
        return proxy.server
    parts = urlsplit(proxy.server)
    userinfo = quote(proxy.username, safe="") + (":" + quote(proxy.password, safe="") if proxy.password else "")
    return urlunsplit(SplitResult(parts.scheme, f"{userinfo}@{parts.netloc}", parts.path, "", ""))
