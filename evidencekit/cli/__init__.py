"""The command line: parse, call one workflow, render text or --json. The one error boundary.

``base`` holds the root group, the error boundary and the shared options; each family's commands are in
their own module and register on the root group here, when the package is imported.
"""

from evidencekit.cli import bundle, capture, case, keys, links, profile, timeline, tsa, watch
from evidencekit.cli.base import cli, main

__all__ = ["bundle", "capture", "case", "cli", "keys", "links", "main", "profile", "timeline", "tsa", "watch"]
