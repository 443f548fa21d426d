"""Emoji in an ad are drawn as coloured glyphs in the screenshots, not as empty boxes (issue 12, finding 8).

Recruitment and escort ads lean on emoji; a screenshot that shows empty boxes misrepresents the page. The
colour emoji font comes from Debian's fonts-noto-color-emoji (.ci/system-deps installs it).
"""

import json

from casekit import make_case, run_cli
from PIL import Image

EMOJI_BOX = (40, 40, 440, 140)  # where tests/fixture_site/www/jobs/emoji-ad.html draws four emoji at 80 px


def _coloured_pixels(image: Image.Image) -> tuple[int, int]:
    """(pixels clearly coloured, distinct coarse colours) inside the emoji box."""
    box = image.convert("RGB").crop(EMOJI_BOX)
    raw = box.tobytes()
    pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
    coloured = [p for p in pixels if max(p) - min(p) > 60]
    coarse = {(r // 64, g // 64, b // 64) for r, g, b in coloured}
    return len(coloured), len(coarse)


def test_emoji_are_drawn_in_colour_in_both_screenshots(tmp_path, site):
    case = make_case(tmp_path / "case")
    result = run_cli(["--case", str(case), "capture", site.url("/jobs/emoji-ad.html"), "--json"])
    assert result.exit_code == 0, result.stderr
    (item,) = json.loads(run_cli(["--case", str(case), "items", "--json"]).stdout)
    out = tmp_path / "look"
    out.mkdir()
    for name in ("screenshot.png", "screenshot-viewport.png", "text.txt", "metadata.json"):
        saved = run_cli(["--case", str(case), "show", item["item_id"], "--save", name, str(out)])
        assert saved.exit_code == 0, saved.stderr
    for name in ("screenshot.png", "screenshot-viewport.png"):
        with Image.open(out / name) as image:
            count, colours = _coloured_pixels(image)
        # An empty box (no emoji font) is a grey outline on white: no coloured pixels at all.
        assert count > 2000, f"{name}: only {count} coloured pixels where four 80 px emoji stand"
        assert colours >= 4, f"{name}: the emoji box holds {colours} colour(s); a real emoji set shows several"
    assert "💃🌹💰✈️" in (out / "text.txt").read_text(encoding="utf-8")
    # The metadata names the font packages the page was drawn with, the emoji font among them.
    fonts = json.loads((out / "metadata.json").read_text())["browser"]["fonts"]
    assert any(f.startswith("fonts-noto-color-emoji=") for f in fonts), fonts
