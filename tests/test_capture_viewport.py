"""The viewport limit is stated and checked in one place (issue 11, "Also"): capture.options.MAX_VIEWPORT,
used by the CLI's --viewport and by CaptureOptions alike; a size out of range is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from casekit import make_case, run_cli

from evidencekit.capture import MAX_VIEWPORT, CaptureOptions, parse_viewport
from evidencekit.capture.options import MIN_VIEWPORT_SIDE
from evidencekit.errors import UsageError

WIDEST, TALLEST = MAX_VIEWPORT


@pytest.mark.parametrize(
    "size",
    ["8000x8000", f"{WIDEST + 1}x{TALLEST}", f"{WIDEST}x{TALLEST + 1}", f"{MIN_VIEWPORT_SIDE - 1}x768", "1366", "big"],
)
def test_the_cli_refuses_what_the_capture_would_refuse_in_one_line_exit_2(tmp_path: Path, size: str) -> None:
    case = make_case(tmp_path / "case")
    result = run_cli(["--case", str(case), "capture", "--viewport", size, "http://127.0.0.1:9/never-fetched"])
    assert result.exit_code == 2
    assert result.stderr.startswith("evidencekit: error: viewport ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    log = run_cli(["--case", str(case), "log", "--json"]).stdout
    assert "capture.started" not in log, "refused before anything is recorded"
    with pytest.raises(UsageError, match="viewport"):
        parse_viewport(size)


def test_the_largest_viewport_is_accepted_by_both_and_the_message_states_it() -> None:
    assert parse_viewport(f"{WIDEST}x{TALLEST}") == MAX_VIEWPORT
    assert CaptureOptions(viewport=MAX_VIEWPORT).viewport == MAX_VIEWPORT
    assert parse_viewport(f"{MIN_VIEWPORT_SIDE}X{MIN_VIEWPORT_SIDE}") == (MIN_VIEWPORT_SIDE, MIN_VIEWPORT_SIDE)
    for width, height in [(WIDEST + 1, TALLEST), (WIDEST, TALLEST + 1)]:
        with pytest.raises(UsageError, match=f"{MIN_VIEWPORT_SIDE}-{WIDEST} x {MIN_VIEWPORT_SIDE}-{TALLEST}"):
            CaptureOptions(viewport=(width, height))


def test_the_help_states_the_same_limit() -> None:
    help_text = " ".join(run_cli(["capture", "--help"]).stdout.split())
    assert f"{WIDEST}x{TALLEST}" in help_text and f"{MIN_VIEWPORT_SIDE}x{MIN_VIEWPORT_SIDE}" in help_text
