"""tools/run_chapters.py: which chapters it picks, where it writes, and how it reports failures.

Two tiny notebooks in a temporary folder stand in for chapters (one passes, one has a failed
assert and an error), so the whole tool runs in a few seconds with two kernels.
"""
import importlib.util
import json
import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("run_chapters", ROOT / "tools" / "run_chapters.py")
run_chapters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_chapters)


def _write_notebook(path, sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# a chapter")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "course"
    folder.mkdir()
    _write_notebook(folder / "00_passes.ipynb", [
        "import os\nprint('budget', os.environ['SPINUP_BUDGET'], 'cwd', os.getcwd())",
        "print('path', os.environ['PYTHONPATH'])",
    ])
    _write_notebook(folder / "01_fails.ipynb", [
        "x = 1",
        "assert x == 2, 'x should be two'",
        "raise ValueError('something else\\nsecond line')",
        "print('still ran', x)",
    ])
    (folder / "notes.ipynb").write_text("{}")  # not a chapter: no NN_ prefix
    return folder


def test_chapters_are_found_by_number_name_or_path(course):
    resolve = run_chapters.resolve_chapters
    assert [p.name for p in resolve([], course)] == ["00_passes.ipynb", "01_fails.ipynb"]
    assert [p.name for p in resolve(["01"], course)] == ["01_fails.ipynb"]
    assert [p.name for p in resolve(["01_fails", "00", "01"], course)] == ["01_fails.ipynb", "00_passes.ipynb"]
    assert resolve([str(course / "00_passes.ipynb")], course) == [(course / "00_passes.ipynb").resolve()]


@pytest.mark.parametrize("names, message", [(["7"], "no chapter matches '7'"),
                                            (["missing.ipynb"], "no notebook missing.ipynb")])
def test_an_unknown_chapter_is_a_usage_error(course, names, message):
    with pytest.raises(run_chapters.UsageError, match=message):
        run_chapters.resolve_chapters(names, course)


def test_executed_copies_never_go_into_the_course_or_over_earlier_ones(course, tmp_path, capsys):
    chapters = run_chapters.resolve_chapters(["00"], course)
    with pytest.raises(run_chapters.UsageError, match="inside the course folder"):
        run_chapters.prepare_output_dir(course / "executed", chapters, course)
    with pytest.raises(run_chapters.UsageError, match="inside the course folder"):
        run_chapters.prepare_output_dir(run_chapters.COURSE_DIR / "x", chapters, course)
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "00_passes.ipynb").write_text("kept")
    # Through main: exit status 2, one line on stderr, nothing run and nothing replaced.
    assert run_chapters.main(["--course-dir", str(course), "--output-dir", str(earlier), "00"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "already holds 00_passes.ipynb" in err and "\n" not in err
    assert (earlier / "00_passes.ipynb").read_text() == "kept"
    assert run_chapters.main(["--course-dir", str(course), "--cell-timeout", "0"]) == 2


def test_every_error_is_reported_with_its_cell_and_the_run_goes_on(course, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    # A relative PYTHONPATH (e.g. PYTHONPATH=. from the repository root) must still mean the same
    # folder in the kernel, which starts in the chapter's folder.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["lib", os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    status = run_chapters.main(["--course-dir", str(course), "--output-dir", str(out)])
    printed = capsys.readouterr().out
    assert status == 1

    summary = json.loads((out / "summary.json").read_text())
    assert summary["budget"] == "full"
    rows = {row["chapter"]: row for row in summary["chapters"]}
    assert not rows["00_passes"]["failed"] and rows["00_passes"]["errors"] == []
    assert rows["01_fails"]["failed"]
    assert rows["01_fails"]["errors"] == [[2, "AssertionError", "x should be two"],
                                          [3, "ValueError", "something else"]]
    for row in rows.values():
        assert row["wall_s"] > 0 and row["cpu_s"] > 0

    # The kernel ran in the chapter's folder, with the full budget; cells after a failure still ran.
    passed = nbformat.read(out / "00_passes.ipynb", as_version=4)
    assert f"budget full cwd {course.resolve()}" in passed.cells[1].outputs[0]["text"]
    assert passed.cells[2].outputs[0]["text"].split()[1].split(os.pathsep)[0] == str(tmp_path / "lib")
    failed = nbformat.read(out / "01_fails.ipynb", as_version=4)
    assert "still ran 1" in failed.cells[4].outputs[0]["text"]
    # The course's own copies are untouched (no outputs written back).
    assert all(not c.get("outputs") for c in nbformat.read(course / "01_fails.ipynb", as_version=4).cells
               if c.cell_type == "code")

    table = printed[printed.index("chapter  "):]
    assert "00_passes" in table and "01_fails" in table and "FAILED" in table
    assert "01_fails cell [2]: AssertionError: x should be two" in table
    assert "01_fails cell [3]: ValueError: something else" in table
