"""The algorithm chapters keep the structure a student relies on, and show live library code.

Every chapter 04-09 has the same section headings, in order, so a student finds their way; each
shows at least one region of ``spinup_lib`` read at run time with ``show_source``; and every
``show_source`` call in any chapter names a region or definition that still exists, so renaming a
function in the library fails here rather than silently in a notebook.
"""
import ast
import glob
import os
import re

import nbformat
import pytest

from spinup_lib.notebook import source_region

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALGORITHM_CHAPTERS = ["04_vpg", "05_trpo", "06_ppo", "07_ddpg", "08_td3", "09_sac"]
HEADINGS = ["Background", "Quick facts", "Key equations", "Exploration vs exploitation", "Pseudocode",
            "In the code", "Experiments", "Documentation", "References"]


def _notebook(name):
    return nbformat.read(os.path.join(ROOT, "course", name + ".ipynb"), as_version=4)


def _headings(nb):
    """The level-2 headings (``## ...``) of a notebook's markdown cells, in order."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found += [m.group(1).strip() for m in re.finditer(r"^##\s+(?:\d+\.?\s+)?(.+?)\s*$", cell.source, re.M)]
    return found


def _show_source_calls(nb):
    """(module, name) of every ``show_source(...)`` / ``source_region(...)`` call with literal arguments."""
    calls = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call):
                func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if func in ("show_source", "source_region"):
                    args = [a.value for a in node.args if isinstance(a, ast.Constant)]
                    assert len(args) == 2, f"show_source call with non-literal arguments: {ast.unparse(node)}"
                    calls.append(tuple(args))
    return calls


@pytest.mark.parametrize("chapter", ALGORITHM_CHAPTERS)
def test_algorithm_chapter_has_the_sections_in_order(chapter):
    headings = _headings(_notebook(chapter))
    positions = []
    for wanted in HEADINGS:
        matches = [i for i, h in enumerate(headings) if h.lower().startswith(wanted.lower())]
        assert matches, f"{chapter} has no '## {wanted}' section (has: {headings})"
        positions.append(matches[0])
    assert positions == sorted(positions), f"{chapter}: sections out of order: {headings}"


@pytest.mark.parametrize("chapter", ALGORITHM_CHAPTERS)
def test_algorithm_chapter_shows_live_library_code(chapter):
    calls = _show_source_calls(_notebook(chapter))
    assert calls, f"{chapter} shows no spinup_lib code with show_source"
    algo = chapter.split("_", 1)[1]
    assert any(module.endswith(f".{algo}") for module, _ in calls), \
        f"{chapter} never shows its own algorithm file"


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "course", "*.ipynb"))),
                         ids=os.path.basename)
def test_every_region_a_chapter_shows_exists(path):
    for module, name in _show_source_calls(nbformat.read(path, as_version=4)):
        region = source_region(module, name)  # raises UserError when the region is gone
        assert region.text.strip()


PLACEHOLDER = re.compile(r"\b(TIME_[A-Z]+|TODO|FIXME|TBD|XXX)\b")


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "course", "[0-9][0-9]_*.ipynb"))),
                         ids=os.path.basename)
def test_no_chapter_ships_an_unfilled_placeholder(path):
    """A word left for later (a TIME_FULL to fill in once measured, a TODO) must not reach a student."""
    found = [(index, match.group(0)) for index, cell in enumerate(nbformat.read(path, as_version=4).cells)
             for match in PLACEHOLDER.finditer(cell.source)]
    assert not found, f"{os.path.basename(path)}: placeholders in cells (index, word): {found}"
