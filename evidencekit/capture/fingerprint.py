"""No stealth: every way the capture's browser presents itself differently from a plain headless Chromium.

The capture hides nothing about being automated beyond what is listed here, and what is listed is recorded
in each capture's metadata (``settings.fingerprint``) and shown in the report: a court may ask whether the
site was shown a disguised visitor. Locale and time zone are never set (the browser's and the host's own).
"""

from __future__ import annotations

from typing import Any

from evidencekit.capture.browser import RunningBrowser
from evidencekit.capture.options import CaptureOptions

HEADLESS_MARKER = "HeadlessChrome/"


def fingerprint(options: CaptureOptions, browser: RunningBrowser) -> dict[str, Any]:
    """``{"stealth": false, "changes": [...], "locale": null, "timezone": null}``: each change in words."""
    changes = []
    if options.user_agent:
        changes.append("user agent set by --user-agent (the browser's own replaced)")
    elif HEADLESS_MARKER in browser.user_agent:
        changes.append("user agent: the browser's own with the headless marker 'HeadlessChrome' shown as 'Chrome'")
    width, height = options.viewport
    changes.append(f"window (viewport) {width}x{height} CSS pixels")
    return {"stealth": False, "changes": changes, "locale": None, "timezone": None}
