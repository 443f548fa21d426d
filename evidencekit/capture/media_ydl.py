"""yt-dlp's ``YoutubeDL`` with the capture's rules on every request it makes: before each request (a
file, a segment, or a site extractor's API call) and before each redirect hop is followed, the fetcher is
asked (private-network rule, media deadline, Ctrl-C), so nothing is requested that must not be.

Only the ``requests`` handler is used: its session gets a response hook that sees each redirect before it
is followed, and its responses can be read as sent (``decode_content=False``, see ``media_fetch``). This
reaches into yt-dlp's request director and handler (pinned in pyproject.toml); if either changes shape,
``guarded_ydl`` refuses to run rather than fetch unchecked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
import yt_dlp
from yt_dlp.networking import Request
from yt_dlp.networking.exceptions import RequestError

if TYPE_CHECKING:
    from evidencekit.capture.media_fetch import Fetcher

_HANDLER = "Requests"


class _RefusedByHook(requests.exceptions.RequestException):
    """Carries the fetcher's refusal out of requests (yt-dlp wraps it in a RequestError with this cause)."""


class _Guard:
    """Mixed into ``yt_dlp.YoutubeDL`` (whatever class that name holds when media are fetched)."""

    fetcher: Fetcher

    def urlopen(self, req: Any) -> Any:
        from evidencekit.capture.media_fetch import Refused

        url = req.url if isinstance(req, Request) else str(req)
        try:
            self.fetcher.before_request(url)
        except Refused as refusal:  # a network error to extractors, which end with it as a failure
            raise RequestError(str(refusal), cause=refusal) from refusal
        return super().urlopen(req)  # type: ignore[misc]

    def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
        chosen = [handler for handler in handlers if getattr(handler, "RH_KEY", None) == _HANDLER]
        if not chosen:
            raise RuntimeError("yt-dlp's requests handler is not available: media are not fetched unchecked")
        director = super().build_request_director(chosen, preferences)  # type: ignore[misc]
        handler = director.handlers[_HANDLER]
        create = handler._create_instance
        fetcher = self.fetcher

        def check_redirect(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
            if response.is_redirect:
                try:
                    fetcher.before_redirect(response.url, response.status_code, response.headers["location"])
                except Exception as refusal:
                    response.close()
                    raise _RefusedByHook(str(refusal)) from refusal
            return response

        def create_instance(*args: Any, **kwargs: Any) -> Any:
            session = create(*args, **kwargs)
            session.hooks["response"].append(check_redirect)
            return session

        handler._create_instance = create_instance
        return director


def guarded_ydl(params: dict[str, Any], fetcher: Fetcher) -> Any:
    guarded = type("GuardedYoutubeDL", (_Guard, yt_dlp.YoutubeDL), {})
    ydl = guarded(params)
    ydl.fetcher = fetcher
    return ydl
