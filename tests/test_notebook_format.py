"""Notebooks are committed in the form JupyterLab saves them, without outputs.

The form is defined in tools/normalize_notebooks.py; tests/data/saved_by_jupyterlab.ipynb is a
notebook exactly as JupyterLab 4.6 saved it (opened in Chromium, kernel started, Ctrl+S), so
the canonical form is checked against JupyterLab's own output, not against itself.
Cost: about 3 s (two small subprocesses; the committed notebooks are only read).
"""
import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOL = REPO_ROOT / "tools" / "normalize_notebooks.py"
SAVED_BY_JUPYTERLAB = Path(__file__).parent / "data" / "saved_by_jupyterlab.ipynb"

spec = importlib.util.spec_from_file_location("normalize_notebooks", TOOL)
normalize_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(normalize_notebooks)

COMMITTED = normalize_notebooks.notebook_paths()


def check(*paths):
    return subprocess.run([sys.executable, str(TOOL), "--check", *map(str, paths)], capture_output=True,
                          text=True)


def test_the_course_has_notebooks_to_check():
    assert any(p.parts[-2] == "course" for p in COMMITTED)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_committed_notebook_is_in_jupyterlab_form_without_outputs(path):
    text = path.read_bytes().decode("utf-8")
    reasons = normalize_notebooks.differences(text)
    assert not reasons, (f"{path.relative_to(REPO_ROOT)} is not normalized ({', '.join(reasons)}): "
                         "run python tools/normalize_notebooks.py")
    nb = json.loads(text)
    assert all(not cell.get("outputs") for cell in nb["cells"])


def test_canonical_form_is_jupyterlabs_save_without_the_python_version():
    saved = SAVED_BY_JUPYTERLAB.read_text(encoding="utf-8")
    language_info = json.loads(saved)["metadata"]["language_info"]
    assert "version" in language_info  # JupyterLab writes the kernel's exact Python version ...
    expected = [line for line in saved.splitlines(keepends=True) if not line.startswith('   "version": "3.')]
    expected[-6] = expected[-6].replace('"ipython3",', '"ipython3"')  # ... the JSON comma before it goes too
    assert normalize_notebooks.normalized_text(saved) == "".join(expected)
    # and what JupyterLab keeps, the normalizer keeps: cell ids, nbgrader metadata, sources
    before, after = (nbformat.reads(t, as_version=4) for t in (saved, normalize_notebooks.normalized_text(saved)))
    assert [(c.id, c.metadata, c.source) for c in before.cells] == [(c.id, c.metadata, c.source) for c in after.cells]


def write_variants(folder):
    """The JupyterLab fixture in canonical form, and copies that differ from it in one way each."""
    canonical = nbformat.reads(normalize_notebooks.normalized_text(SAVED_BY_JUPYTERLAB.read_text("utf-8")),
                               as_version=4)
    folder.mkdir()

    def variant(name, change=None, text=None):
        nb = copy.deepcopy(canonical)
        if change:
            change(nb)
        path = folder / f"{name}.ipynb"
        path.write_text(text if text is not None else nbformat.writes(nb) + "\n", encoding="utf-8")
        return path

    def with_output(nb):
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="3.14\n")]
        nb.cells[1].execution_count = 1

    def old_kernelspec(nb):
        nb.metadata.kernelspec.display_name = "Python 3"
        nb.metadata.language_info = {"name": "python"}

    def timed(nb):
        nb.cells[1].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}

    good = variant("good")
    bad = {
        variant("saved_by_jupyterlab", text=SAVED_BY_JUPYTERLAB.read_text("utf-8")): "language_info",
        variant("with_output", with_output): "outputs in 1 cell, execution counts",
        variant("old_kernelspec", old_kernelspec): "kernelspec, language_info",
        variant("timed", timed): "execution timing in cell metadata",
        variant("indented", text=json.dumps(json.loads(good.read_text()), indent=2)): "file layout",
    }
    return good, bad


def test_check_mode_lists_notebooks_saved_differently(tmp_path):
    good, bad = write_variants(tmp_path / "nbs")
    done = check(tmp_path / "nbs")
    assert done.returncode == 1
    listed = {Path(line.split()[2]).name: line for line in done.stdout.splitlines()
              if line.startswith("not normalized:")}
    assert set(listed) == {p.name for p in bad}  # every variant, and the canonical one not
    for path, reason in bad.items():
        assert f"({reason}" in listed[path.name], listed[path.name]
    assert "5 of 6 notebooks are not normalized" in done.stdout
    assert check(good).returncode == 0


def test_normalizing_fixes_them_and_keeps_what_matters(tmp_path):
    good, bad = write_variants(tmp_path / "nbs")
    originals = {p: nbformat.read(p, as_version=4) for p in bad}
    done = subprocess.run([sys.executable, str(TOOL), str(tmp_path / "nbs")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert check(tmp_path / "nbs").returncode == 0
    for path, before in originals.items():
        assert path.read_text() == good.read_text(), path.name  # all reduce to the one canonical file
        after = nbformat.read(path, as_version=4)
        assert [c.id for c in after.cells] == [c.id for c in before.cells]
        assert [c.metadata.get("nbgrader") for c in after.cells] == [c.metadata.get("nbgrader") for c in before.cells]
    # a second pass changes nothing
    again = subprocess.run([sys.executable, str(TOOL), str(tmp_path / "nbs")], capture_output=True, text=True)
    assert again.stdout == ""


def test_cells_without_ids_get_one_and_old_minor_versions_are_upgraded():
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = 4
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nb.cells[0].pop("id", None)
    text = json.dumps(nb)
    assert "nbformat 4.4 instead of 4.5" in normalize_notebooks.differences(text)
    fixed = json.loads(normalize_notebooks.normalized_text(text))
    assert fixed["nbformat_minor"] == 5 and fixed["cells"][0]["id"]
    assert normalize_notebooks.differences(normalize_notebooks.normalized_text(text)) == []


def test_unreadable_notebook_is_reported_not_rewritten(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    done = check(broken)
    assert done.returncode == 1 and "cannot be read as a notebook" in done.stdout
    fix = subprocess.run([sys.executable, str(TOOL), str(broken)], capture_output=True, text=True)
    assert fix.returncode == 1 and "left as it is" in fix.stderr
    assert broken.read_text() == "{ not json"
