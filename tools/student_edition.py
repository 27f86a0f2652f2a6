"""Write the student edition of the repository: what a graded class hands out.

The full repository is for self-study: it holds the exercises' solutions, hidden tests and rubrics
(solutions/), and tests whose crafted submissions are answers (tests/test_exercises.py,
tests/exercise_submissions.py), as the original Spinning Up shipped its solutions. A class whose
exercises count for a grade hands out this edition instead: the course, the library, the released
exercises, the install files, the tests that hold no answers, and a README for students
(tools/student_edition_README.md) in place of the instructors' one.

Usage (from anywhere)::

    python tools/student_edition.py OUT      # OUT must not exist yet (nothing is ever overwritten)

It copies the files git tracks (so no run results, gradebooks or caches), leaving out LEFT_OUT.
Then ``cd OUT && git init && git add -A && git commit -m "Course"`` gives the class a clean history.
"""
import argparse
import os
import os.path as osp
import shutil
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STUDENT_README = osp.join("tools", "student_edition_README.md")

# Paths (files, or folders ending in "/") that hold answers or only serve the instructor.
LEFT_OUT = (
    "solutions/",                          # sources: solutions, hidden tests, rubrics, model answers
    "tests/test_exercises.py",             # grades crafted submissions, correct ones among them
    "tests/exercise_submissions.py",       # the crafted submissions themselves
    "benchmarks/exercise_pass_rates.py",   # runs those submissions
    "benchmarks/autograde_times.py",       # grades the reference solutions
    "benchmarks/ps2_full_runs.py",         # runs the ps2 solutions ...
    "benchmarks/results/ps2_full_runs/",   # ... and keeps their results, which a student could hand in
    "benchmarks/results/ps2_full_runs.csv",
    STUDENT_README,                        # becomes OUT/README.md
)


def tracked_files():
    """The repository's files as git tracks them (relative paths, '/'-separated)."""
    try:
        out = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        sys.exit(f"student_edition: cannot list the repository's files with git ({err}): run it from a git clone")
    return sorted(name for name in out.decode("utf-8").split("\0") if name)


def left_out(path):
    return any(path == item or (item.endswith("/") and path.startswith(item)) for item in LEFT_OUT)


def write_edition(out):
    """Copy the edition into the new folder out; return the list of files written."""
    if osp.exists(out):
        sys.exit(f"student_edition: {out} already exists: give a new folder (nothing is overwritten)")
    written = []
    for path in tracked_files():
        if left_out(path) or not osp.isfile(osp.join(REPO, path)):
            continue
        target = osp.join(out, *path.split("/"))
        os.makedirs(osp.dirname(target), exist_ok=True)
        shutil.copy2(osp.join(REPO, path), target)
        written.append(path)
    shutil.copy2(osp.join(REPO, STUDENT_README), osp.join(out, "README.md"))
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="a new folder for the edition")
    args = parser.parse_args(argv)
    written = write_edition(args.out)
    print(f"student edition: {len(written)} files in {args.out} (left out: {', '.join(LEFT_OUT[:-1])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
