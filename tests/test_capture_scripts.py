"""The page scripts: every .js file in evidencekit/capture/scripts is used, parses in Chromium as the single
function DevTools calls, gets its constants as an argument, and no capture module keeps a script inline."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

import evidencekit.capture
from evidencekit.capture import page as page_ops
from evidencekit.capture import scripts
from evidencekit.capture.browser import find_browser, launch_args, sandbox_available
from evidencekit.capture.world import OwnWorld

CAPTURE = Path(evidencekit.capture.__file__).parent
_JS_MARKS = re.compile(r"=>|\bfunction\b|\bdocument\.|\bwindow\.|\bconst |\blet |;\s*$", re.MULTILINE)


def _sources() -> dict[str, str]:
    return {name: scripts.load(name) for name in sorted(scripts.shipped())}


def test_every_script_file_is_loaded_by_a_capture_module() -> None:
    """In a fresh interpreter, importing the capture modules loads every shipped script (no orphan file,
    and no module asking for a file that is not there: that import would fail)."""
    probe = (
        "import importlib, pkgutil, evidencekit.capture as c\n"
        "from evidencekit.capture import scripts\n"
        "for m in pkgutil.walk_packages(c.__path__, 'evidencekit.capture.'): importlib.import_module(m.name)\n"
        "print(sorted(scripts.shipped())); print(sorted(scripts.loaded()))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    shipped, loaded = run.stdout.splitlines()
    assert shipped == loaded
    assert len(ast.literal_eval(shipped)) >= 11
    # And each is named by the module that runs it, in its source.
    named = "".join(path.read_text(encoding="utf-8") for path in CAPTURE.rglob("*.py"))
    for name in scripts.shipped():
        assert f'scripts.load("{name}")' in named, name


def test_the_scripts_ship_inside_the_package() -> None:
    """importlib.resources finds them where the wheel puts them: beside the loader, in the package."""
    folder = resources.files("evidencekit.capture.scripts")
    assert {entry.name for entry in folder.iterdir() if entry.name.endswith(".js")} == scripts.shipped()
    assert all(source.endswith("\n") for source in _sources().values())  # a last // comment never eats the ")"


async def _parse_in_chromium(sources: dict[str, str]) -> dict[str, Any]:
    """How Chromium reads each source as DevTools' Runtime.callFunctionOn does, "(" + source + ")",
    without calling it: the type of the value, or the syntax error."""
    info = find_browser(None, os.environ)
    sandbox = sandbox_available()
    seen: dict[str, Any] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=info.path, args=launch_args(sandbox), chromium_sandbox=sandbox
        )
        page = await browser.new_page()
        cdp = await page.context.new_cdp_session(page)
        for name, source in sources.items():
            answer = await cdp.send("Runtime.evaluate", {"expression": "typeof (" + source + ")"})
            details = answer.get("exceptionDetails")
            seen[name] = details["exception"]["description"] if details else answer["result"]["value"]
        await browser.close()
    return seen


def test_every_script_parses_in_chromium_as_one_function() -> None:
    sources = _sources()
    broken = {"broken.js": "// a comment\n() => { return [1, 2;\n}\n"}
    seen = asyncio.run(_parse_in_chromium({**sources, **broken}))
    assert seen.pop("broken.js").startswith("SyntaxError")  # the check can fail
    assert seen == dict.fromkeys(sources, "function")


async def _room_answers() -> list[Any]:
    """The bottom check with the view 2 px, then 3 px, above the page's bottom, in the capture's own world."""
    info = find_browser(None, os.environ)
    sandbox = sandbox_available()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=info.path, args=launch_args(sandbox), chromium_sandbox=sandbox
        )
        page = await browser.new_page(viewport={"width": 800, "height": 600})
        await page.set_content("<body style='margin:0'><div style='height:3000px'></div></body>")
        world = OwnWorld(await page.context.new_cdp_session(page))
        answers = []
        for gap in (page_ops.ROOM_SLACK_PX, page_ops.ROOM_SLACK_PX + 1):
            await page.evaluate("(gap) => window.scrollTo(0, 3000 - 600 - gap)", gap)
            answers.append(await world.run(page_ops._GREW_JS, page_ops.ROOM_SLACK_PX))
            answers.append((await world.run(page_ops._ROOM_JS, page_ops.ROOM_SLACK_PX))["below"])
        await browser.close()
    return answers


def test_the_slack_at_the_bottom_reaches_the_scripts_as_their_argument() -> None:
    # At ROOM_SLACK_PX below the view the page counts as at its bottom (the DOM watch starts, and the view
    # goes back to the top); one pixel more is room to scroll on.
    assert asyncio.run(_room_answers()) == [False, 2, True, 3]


def _inline_scripts(source: str) -> list[int]:
    """Line numbers of string constants (docstrings aside) of three lines or more that read as JavaScript."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and node.value.strip().count("\n") >= 2
        and _JS_MARKS.search(node.value)
    ]


def test_no_capture_module_holds_an_inline_script() -> None:
    inline = '_X_JS = """\n() => {\n  return document.title;\n}\n"""\n'
    assert _inline_scripts(inline) == [1]  # the check can fail
    assert _inline_scripts('"""A docstring: () => {\nsays\nwhat}"""\nx = "window.x"\n') == []
    found = {
        str(path.relative_to(CAPTURE)): lines
        for path in sorted(CAPTURE.rglob("*.py"))
        if (lines := _inline_scripts(path.read_text(encoding="utf-8")))
    }
    assert found == {}
