"""The font packages a capture was drawn with.

What a screenshot shows depends on the fonts the machine has: without a script's font its text is drawn as
empty boxes, without the colour emoji font every emoji is. A reader of the capture years later can only
judge that from the list recorded at the time, so each capture's metadata names the installed font
packages (``browser.fonts``).
"""

from __future__ import annotations

import functools
import shutil
import subprocess


@functools.cache
def installed_font_packages() -> tuple[str, ...] | None:
    """``name=version`` of each installed Debian package named fonts-*; None where there is no dpkg to ask
    (the metadata then says the packages are not known rather than listing none)."""
    dpkg_query = shutil.which("dpkg-query")
    if dpkg_query is None:
        return None
    try:
        done = subprocess.run(
            [dpkg_query, "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n", "fonts-*"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    # dpkg-query exits 1 when no package matches the pattern: that is an empty list, not an unknown one.
    if done.returncode not in (0, 1):
        return None
    found = []
    for line in done.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2] == "installed":
            found.append(f"{parts[0]}={parts[1]}")
    return tuple(sorted(found))
