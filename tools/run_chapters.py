"""Execute course chapters at the full budget, one at a time, each in a fresh kernel, and report.

Every chapter asserts the claims it makes about its results, and some of those claims hold only at
the full training budget, which CI never runs. This tool runs the chapters the way a student does
(``SPINUP_BUDGET=full``), top to bottom in a fresh kernel started in the chapter's folder, and
prints one table: the wall time, the CPU time, and every error (a failed ``assert`` is an
``AssertionError``) with the number of the cell it came from (cells count from 0, as in the
committed notebook). A failing cell does not stop the chapter: the cells after it still run, so
one execution reports every failed claim.

The CPU time is that of the kernel process and of the processes it waited for: commands started
with ``!python ...``, grid workers, MPI ranks (``psutil``'s ``cpu_times``: user and system time of
the kernel and of its reaped children; a process the kernel never waits for, such as a Ray daemon,
is not counted; on macOS and Windows only the kernel's own time is available). On a quiet machine
a chapter that runs one process at a time takes about as much wall time as CPU time.

The executed copies (with their outputs) are written to ``--output-dir``, by default a new
temporary folder, never into the course folder, and an existing file there is never replaced;
``summary.json`` beside them holds the table's numbers.

Usage (from the repository root)::

    python tools/run_chapters.py                          # every chapter of course/, one after another
    python tools/run_chapters.py 03 10 11_spinning_up_as_a_researcher
    python tools/run_chapters.py --output-dir /tmp/full_run course/00_welcome.ipynb
    python tools/run_chapters.py --budget small 00        # the same machinery, at the quick budget

A chapter is named by its file (a path to an ``.ipynb``), its name (``03_intro_to_policy_optimization``)
or its number (``03``). Exit status: 0 when every chapter ran without an error, 1 when one failed,
2 when the arguments are wrong (one line says why; nothing has been run).

Run it with ``nice -n 5`` on a shared machine, and nothing else heavy beside it, when the times
are to be reported.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COURSE_DIR = REPO_ROOT / "course"
BUDGETS = ("full", "small")


class UsageError(Exception):
    """Something wrong with the arguments, explained in one line (exit status 2)."""


# ----------------------------------------------------------------------------------------------
# Which chapters, and where their executed copies go
# ----------------------------------------------------------------------------------------------
def course_chapters(course_dir):
    """The chapter notebooks of ``course_dir``, sorted by name (``NN_name.ipynb``)."""
    return sorted(p for p in Path(course_dir).glob("*.ipynb") if p.stem[:2].isdigit())


def resolve_chapters(names, course_dir=COURSE_DIR):
    """The notebook paths ``names`` stand for (all chapters when empty), in order, without repeats.

    A name is a path to an .ipynb file, a chapter's file name without .ipynb, or its number
    (the digits before the first underscore).
    """
    available = course_chapters(course_dir)
    if not names:
        if not available:
            raise UsageError(f"no chapter notebooks (NN_name.ipynb) in {course_dir}")
        return available
    chosen = []
    for name in names:
        as_path = Path(name)
        if name.endswith(".ipynb"):
            if not as_path.is_file():
                raise UsageError(f"no notebook {name}: check the path")
            path = as_path
        else:
            matches = [p for p in available if p.stem == name or p.stem.split("_", 1)[0] == name]
            if len(matches) != 1:
                listed = ", ".join(p.stem for p in available) or "none"
                why = "no chapter" if not matches else "more than one chapter"
                raise UsageError(f"{why} matches {name!r} in {course_dir}: give a number or a name "
                                 f"among {listed}")
            path = matches[0]
        path = path.resolve()
        if path not in chosen:
            chosen.append(path)
    return chosen


def _inside(path, folder):
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


def prepare_output_dir(output_dir, chapters, course_dir=COURSE_DIR):
    """The folder for the executed copies: created if needed, never a course folder, nothing replaced."""
    if output_dir is None:
        return Path(tempfile.mkdtemp(prefix="spinup_chapters_"))
    output_dir = Path(output_dir).resolve()
    for folder in {Path(course_dir).resolve(), COURSE_DIR.resolve(), *(c.parent for c in chapters)}:
        if _inside(output_dir, folder):
            raise UsageError(f"--output-dir {output_dir} is inside the course folder {folder}: executed copies "
                             "must go elsewhere (leave the option out for a new temporary folder)")
    taken = [c.name for c in chapters if (output_dir / c.name).exists()]
    if (output_dir / "summary.json").exists():
        taken.append("summary.json")
    if taken:
        raise UsageError(f"{output_dir} already holds {', '.join(taken)} from an earlier run: "
                         "choose another --output-dir (or leave it out for a new temporary folder)")
    output_dir.mkdir(parents=True, exist_ok=True)
    return output_dir


# ----------------------------------------------------------------------------------------------
# Executing one chapter
# ----------------------------------------------------------------------------------------------
def _kernel_cpu_seconds(pid):
    """CPU seconds of process ``pid`` and of the children it waited for (None when it is gone)."""
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return times.user + times.system + getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)


def cell_errors(nb):
    """``(cell number, error name, first line of its message)`` of every error output in ``nb``."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                message = (output.get("evalue") or "").strip().splitlines()
                found.append((index, output.get("ename", "Error"), message[0] if message else ""))
    return found


def execute_chapter(path, output_path, budget="full", cell_timeout=None, kernel_name="python3"):
    """Run the notebook ``path`` top to bottom in a fresh kernel; write the executed copy to ``output_path``.

    Returns a dict: chapter, wall_s, cpu_s (None if it could not be measured), errors (a list of
    ``(cell, name, message)``), slowest_cell (``(cell, seconds)``) and failed (bool).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.read(path, as_version=4)
    cell_seconds, cpu = {}, {"last": None}
    started = {}

    def before(cell, cell_index, **_):
        started[cell_index] = time.perf_counter()

    def after(cell, cell_index, **_):
        cell_seconds[cell_index] = time.perf_counter() - started.get(cell_index, time.perf_counter())
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if pid is not None:
            cpu["last"] = _kernel_cpu_seconds(pid) or cpu["last"]

    client = NotebookClient(nb, timeout=cell_timeout, kernel_name=kernel_name, allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(path.parent)}},
                            on_cell_execute=before, on_cell_executed=after)
    env = dict(os.environ, SPINUP_BUDGET=budget)
    if env.get("PYTHONPATH"):  # the kernel starts in the chapter's folder: relative entries would move
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    errors = []
    start = time.perf_counter()
    try:
        client.execute(env=env)
    except DeadKernelError as error:
        errors.append((max(cell_seconds, default=-1) + 1, "DeadKernelError", str(error).splitlines()[0]))
    finally:  # even when stopped with Ctrl-C: what ran so far is worth reading
        nbformat.write(nb, output_path)
    wall = time.perf_counter() - start
    errors = cell_errors(nb) + errors
    slowest = max(cell_seconds.items(), key=lambda item: item[1], default=(None, 0.0))
    return dict(chapter=path.stem, wall_s=wall, cpu_s=cpu["last"], errors=errors, slowest_cell=slowest,
                failed=bool(errors), executed_copy=str(output_path))


# ----------------------------------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------------------------------
def _minutes(seconds):
    if seconds is None:
        return "n/a"
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def format_table(results):
    """The report: one row per chapter, then every error with its cell."""
    width = max([len("chapter")] + [len(r["chapter"]) for r in results])
    lines = [f"{'chapter':<{width}}  {'status':<6}  {'wall':>7}  {'CPU':>7}  {'slowest cell':>14}  errors",
             f"{'-' * width}  {'-' * 6}  {'-' * 7}  {'-' * 7}  {'-' * 14}  ------"]
    for r in results:
        cell, seconds = r["slowest_cell"]
        slowest = f"[{cell}] {_minutes(seconds)}" if cell is not None else "-"
        lines.append(f"{r['chapter']:<{width}}  {'FAILED' if r['failed'] else 'ok':<6}  {_minutes(r['wall_s']):>7}  "
                     f"{_minutes(r['cpu_s']):>7}  {slowest:>14}  {len(r['errors'])}")
    total_wall = sum(r["wall_s"] for r in results)
    cpus = [r["cpu_s"] for r in results]
    total_cpu = None if any(c is None for c in cpus) else sum(cpus)
    lines.append(f"{'total':<{width}}  {'':<6}  {_minutes(total_wall):>7}  {_minutes(total_cpu):>7}")
    for r in results:
        for cell, name, message in r["errors"]:
            lines.append(f"{r['chapter']} cell [{cell}]: {name}: {message}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python tools/run_chapters.py",
        description="Execute course chapters (default: all) at the full budget, each in a fresh kernel, "
                    "and report wall time, CPU time and every failed assert or error.")
    parser.add_argument("chapters", nargs="*",
                        help="chapters by number (03), name (03_intro_to_policy_optimization) or .ipynb path")
    parser.add_argument("--output-dir", help="folder for the executed copies and summary.json "
                                             "(default: a new temporary folder; never inside course/)")
    parser.add_argument("--budget", choices=BUDGETS, default="full",
                        help="SPINUP_BUDGET for the kernels (default: full)")
    parser.add_argument("--course-dir", default=str(COURSE_DIR),
                        help="where chapter numbers and names are looked up (default: the repository's course/)")
    parser.add_argument("--cell-timeout", type=float, default=None,
                        help="seconds one cell may run before it is interrupted and counted as an error "
                             "(default: no limit)")
    args = parser.parse_args(argv)

    try:
        if args.cell_timeout is not None and args.cell_timeout <= 0:
            raise UsageError(f"--cell-timeout must be a positive number of seconds, not {args.cell_timeout:g}")
        chapters = resolve_chapters(args.chapters, args.course_dir)
        output_dir = prepare_output_dir(args.output_dir, chapters, args.course_dir)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    print(f"{len(chapters)} chapter(s) at SPINUP_BUDGET={args.budget}; executed copies in {output_dir}", flush=True)
    results = []
    for path in chapters:
        print(f"running {path.stem} ...", flush=True)
        result = execute_chapter(path, output_dir / path.name, budget=args.budget, cell_timeout=args.cell_timeout)
        results.append(result)
        print(f"  {'FAILED' if result['failed'] else 'ok'} in {_minutes(result['wall_s'])} "
              f"(CPU {_minutes(result['cpu_s'])}), {len(result['errors'])} error(s)", flush=True)
    summary = dict(budget=args.budget, chapters=results)
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print()
    print(format_table(results))
    return 1 if any(r["failed"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
