"""Keep the course's notebooks in the form JupyterLab saves them, without outputs.

Opening a notebook in JupyterLab and saving it rewrites its metadata; when the committed file is
already in JupyterLab's form, a student's or author's save changes nothing but what they edited.
The form below was read off JupyterLab 4.6 itself (Chromium driven by Playwright opening
unchanged notebooks, letting the kernel start, pressing Ctrl+S, and diffing the files); the
file it saved is kept as ``tests/data/saved_by_jupyterlab.ipynb``.

The canonical form of a notebook:

* nbformat 4.5: every cell has an ``id``; ids are kept (a missing one is added).
* ``metadata.kernelspec``: ``{"display_name": "Python 3 (ipykernel)", "language": "python",
  "name": "python3"}``, what JupyterLab writes for the default Python kernel.
* ``metadata.language_info``: the fields the IPython kernel reports that are the same on every
  machine: ``codemirror_mode`` ({"name": "ipython", "version": 3}), ``file_extension`` (.py),
  ``mimetype`` (text/x-python), ``name`` (python), ``nbconvert_exporter`` (python) and
  ``pygments_lexer`` (ipython3). JupyterLab also writes ``version``, the exact version of the
  Python running the kernel (e.g. 3.11.7): it differs between machines, so it is left out, and
  that one line is all a JupyterLab save adds to a canonical notebook.
* Other notebook metadata is kept, except ``widgets`` (saved widget state is output).
* No outputs: code cells have ``"outputs": []`` and ``"execution_count": null``; the timing
  that nbclient or JupyterLab may record in a cell's ``execution`` metadata is removed. All other
  cell metadata (nbgrader's included) is kept as it is.
* The file is what Jupyter's server writes: ``nbformat.writes`` (JSON indented by one space, keys
  sorted, non-ASCII characters as they are, sources as lists of lines) and a final newline.

Usage (from the repository root)::

    python tools/normalize_notebooks.py --check     # list notebooks not in that form, exit 1 if any
    python tools/normalize_notebooks.py             # rewrite those notebooks into it
    python tools/normalize_notebooks.py PATH ...    # only these notebooks or folders

Without paths it covers the notebooks under course/, solutions/ and exercises/ that git tracks or
would track (ignored files, such as run results under course/data/, are skipped).
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_FOLDERS = ("course", "solutions", "exercises")

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
DROPPED_NOTEBOOK_METADATA = ("widgets",)
DROPPED_CELL_METADATA = ("execution", "ExecuteTime")


def normalize(nb):
    """Put the notebook node ``nb`` (nbformat 4) into the canonical form, in place; return it."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    for key in DROPPED_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    nb.metadata["kernelspec"] = nbformat.from_dict(KERNELSPEC)
    nb.metadata["language_info"] = nbformat.from_dict(LANGUAGE_INFO)
    for cell in nb.cells:
        if not cell.get("id"):
            cell["id"] = nbformat.v4.nbbase.random_cell_id()
        for key in DROPPED_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def normalized_text(text):
    """The canonical file text of the notebook whose file text is ``text``."""
    nb = nbformat.reads(text, as_version=4)
    return nbformat.writes(normalize(nb)) + "\n"


def differences(text):
    """Why the notebook file ``text`` is not canonical: a list of short reasons, empty if it is."""
    try:
        raw = json.loads(text)
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # not JSON, or not a notebook
        return [f"cannot be read as a notebook ({type(err).__name__})"]
    reasons = []
    if (raw.get("nbformat"), raw.get("nbformat_minor")) != (4, 5):
        reasons.append(f"nbformat {raw.get('nbformat')}.{raw.get('nbformat_minor')} instead of 4.5")
    metadata = raw.get("metadata", {})
    if metadata.get("kernelspec") != KERNELSPEC:
        reasons.append("kernelspec")
    if metadata.get("language_info") != LANGUAGE_INFO:
        reasons.append("language_info")
    if any(key in metadata for key in DROPPED_NOTEBOOK_METADATA):
        reasons.append("saved widget state")
    cells = raw.get("cells", [])
    with_outputs = sum(1 for c in cells if c.get("cell_type") == "code" and c.get("outputs"))
    if with_outputs:
        reasons.append(f"outputs in {with_outputs} cell{'s' if with_outputs > 1 else ''}")
    if any(c.get("cell_type") == "code" and c.get("execution_count") is not None for c in cells):
        reasons.append("execution counts")
    if any(key in c.get("metadata", {}) for c in cells for key in DROPPED_CELL_METADATA):
        reasons.append("execution timing in cell metadata")
    if any(not c.get("id") for c in cells):
        reasons.append("cells without ids")
    if not reasons and nbformat.writes(normalize(nb)) + "\n" != text:
        reasons.append("file layout (not as Jupyter writes it)")
    return reasons


def notebook_paths(paths=None):
    """The notebooks to look at: under ``paths`` (files or folders), default the course folders.

    Inside the repository, files git ignores are skipped; ``.ipynb_checkpoints`` always are.
    """
    if not paths:
        paths = [REPO_ROOT / folder for folder in NOTEBOOK_FOLDERS if (REPO_ROOT / folder).is_dir()]
    found = []
    for path in map(Path, paths):
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(p for p in sorted(path.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts)
        else:
            raise SystemExit(f"error: no notebook or folder {path}")
    return [p for p in found if not _ignored_by_git(p)]


def _ignored_by_git(path):
    try:
        done = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=path.resolve().parent,
                              capture_output=True)
    except OSError:  # no git: nothing is ignored
        return False
    return done.returncode == 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python tools/normalize_notebooks.py",
        description="Rewrite notebooks into the form JupyterLab saves them, without outputs "
                    "(see this file's docstring for the exact form).")
    parser.add_argument("paths", nargs="*", help="notebooks or folders (default: course/, solutions/, exercises/)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; list the notebooks not in that form and exit 1 if there are any")
    args = parser.parse_args(argv)

    paths = notebook_paths(args.paths)
    not_normalized, unreadable = [], []
    for path in paths:
        text = path.read_bytes().decode("utf-8")  # as stored: line endings included
        reasons = differences(text)
        if not reasons:
            continue
        shown = os.path.relpath(path)
        if args.check:
            not_normalized.append(path)
            print(f"not normalized: {shown} ({', '.join(reasons)})")
        elif reasons[0].startswith("cannot be read"):
            unreadable.append(path)
            print(f"error: {shown} {reasons[0]}: left as it is", file=sys.stderr)
        else:
            path.write_text(normalized_text(text), encoding="utf-8", newline="\n")
            print(f"normalized: {shown} ({', '.join(reasons)})")
    if args.check:
        if not_normalized:
            print(f"{len(not_normalized)} of {len(paths)} notebooks are not normalized: "
                  "run python tools/normalize_notebooks.py")
            return 1
        print(f"all {len(paths)} notebooks are normalized")
    return 1 if unreadable else 0


if __name__ == "__main__":
    sys.exit(main())
