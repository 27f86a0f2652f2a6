"""How long does nbgrader take to grade a class of the course's problem sets, one by one and side by side?

Builds a temporary course directory (a copy of solutions/ and nbgrader_config.py), releases the
assignments, hands in the reference solutions for N students (ps2 with the small result tables a
full run saves), and grades them in two ways:

* **serial**: one ``nbgrader autograde ASSIGNMENT`` for the whole class, as the README's commands do;
* **side by side**: one ``nbgrader autograde ASSIGNMENT --student S`` per student, W processes at
  a time, all writing to the same gradebook (SQLite), as the README's
  ``xargs -P 2 ... nbgrader autograde ps1 --student {}`` does. nbgrader does not promise that this
  works (its FAQ: no parallel autograding yet; SQLite is not safe for concurrent use): a process
  that fails (e.g. "database is locked") is counted, not hidden, and the grades are read back and
  checked against the serial run's.

It reports, per student, the wall time and the CPU time (user + system of nbgrader and its kernels)
and extrapolates each mode's wall time per student to a class of ``--class_size`` students
(class_size x measured wall time per student: grading time grows linearly with the class, one
student after another). Wall times are only meaningful on an otherwise idle machine: on a shared
one, pause everything else while it runs (and keep it short: a few students).
The reference solutions pass the learning checks of 1.2 and 1.3 on their first seed; a submission
that misses a bar runs its check on a second seed, which adds 15-25 s of CPU for that student.

Usage::

    python benchmarks/autograde_times.py                      # ps1 and ps2, 2 students, 2 workers
    python benchmarks/autograde_times.py --assignments ps1 --students 4 --workers 2

Writes benchmarks/results/autograde_times_<assignments>.csv (one row per assignment and mode) and
autograde_times_<assignments>_machine.json.
"""
import argparse
import concurrent.futures
import json
import os
import os.path as osp
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import pandas as pd

from common import REPO_ROOT, describe_machine, machine_info, main_guard, print_table, results_path, write_csv, write_json

NOTEBOOKS = {"ps1": ["exercise1_1_gaussian_log_likelihood", "exercise1_2_ppo_gaussian_policy", "exercise1_3_td3_losses"],
             "ps2": ["exercise2_1_trpo_value_fitting", "exercise2_2_ddpg_silent_bug"]}


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def nbgrader(course, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SPINUP_BUDGET", "NBGRADER_EXECUTION")}
    env["PYTHONPATH"] = os.pathsep.join([REPO_ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def make_course(root, assignments, students):
    """A course directory with the assignments released and the reference solutions handed in."""
    shutil.copytree(osp.join(REPO_ROOT, "solutions"), osp.join(root, "solutions"))
    shutil.copy(osp.join(REPO_ROOT, "nbgrader_config.py"), root)
    sys.path.insert(0, osp.join(REPO_ROOT, "tests"))
    from test_exercises import results_of_a_full_run  # the small tables a full ps2 run saves

    from pathlib import Path

    for assignment in assignments:
        nbgrader(root, "generate_assignment", assignment, "--force")
        for student in students:
            folder = Path(root, "submitted", student, assignment)
            folder.mkdir(parents=True)
            for name in NOTEBOOKS[assignment]:
                shutil.copy(osp.join(REPO_ROOT, "solutions", assignment, name + ".ipynb"), folder)
            if assignment == "ps2":
                results_of_a_full_run(folder, "ex2_1")
                results_of_a_full_run(folder, "ex2_2")


def read_scores(course, assignment):
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + osp.join(course, "gradebook.db")) as gb:
        return {(s.student.id, nb.name): nb.score for s in gb.assignment_submissions(assignment) for nb in s.notebooks}


def grade(course, assignment, students, workers):
    """Autograde the class; return (wall seconds, CPU seconds, failed nbgrader calls' messages)."""
    wall, cpu = time.time(), children_cpu_seconds()
    failures = []
    if workers == 1:
        nbgrader(course, "autograde", assignment, "--force")
    else:
        # one nbgrader process per student, W at a time, each taking the next student as one ends:
        # what `... | xargs -P W -I{} nbgrader autograde ASSIGNMENT --student {}` does (README)
        def grade_one(student):
            try:
                nbgrader(course, "autograde", assignment, "--force", "--student", student)
            except RuntimeError as error:  # e.g. the gradebook locked by another process
                failures.append(f"{student}: {str(error)[-600:]}")

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(grade_one, students))
    return time.time() - wall, children_cpu_seconds() - cpu, failures


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", nargs="+", choices=sorted(NOTEBOOKS), default=sorted(NOTEBOOKS))
    parser.add_argument("--students", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="processes side by side (1: serial only)")
    parser.add_argument("--class_size", type=int, default=30, help="the class the figures are extrapolated to")
    parser.add_argument("--results_dir", default=None)
    return parser.parse_args(argv)


def main():
    args = parse_args()
    info = machine_info()
    print(describe_machine(info))
    students = [f"student{i:02d}" for i in range(args.students)]
    rows = []
    for assignment in args.assignments:
        with tempfile.TemporaryDirectory() as root:
            make_course(root, [assignment], students)
            serial = grade(root, assignment, students, 1)
            serial_scores = read_scores(root, assignment)
            rows.append(dict(assignment=assignment, mode="serial", workers=1, students=args.students,
                             wall_s=round(serial[0], 1), cpu_s=round(serial[1], 1), failed_calls=0,
                             same_grades=True))
            print(f"{assignment}: serial {serial[0]:.0f} s wall; scores {sorted(set(serial_scores.values()))} "
                  "per notebook")
            if args.workers > 1:
                # the same submissions again, graded afresh, W processes at a time
                shutil.rmtree(osp.join(root, "autograded"))
                parallel = grade(root, assignment, students, args.workers)
                same = read_scores(root, assignment) == serial_scores
                for failure in parallel[2]:
                    print(f"FAILED: {failure}")
                rows.append(dict(assignment=assignment, mode=f"side by side ({args.workers} processes, one gradebook)",
                                 workers=args.workers, students=args.students, wall_s=round(parallel[0], 1),
                                 cpu_s=round(parallel[1], 1), failed_calls=len(parallel[2]), same_grades=same))
                print(f"{assignment}: side by side {parallel[0]:.0f} s wall, {len(parallel[2])} failed calls, "
                      f"same grades as serial: {same}")
    table = pd.DataFrame(rows)
    table["wall_s_per_student"] = (table.wall_s / table.students).round(1)
    table["cpu_s_per_student"] = (table.cpu_s / table.students).round(1)
    # extrapolated, not measured: class_size x the measured wall time per student, on this machine
    table[f"class_of_{args.class_size}_min_extrapolated"] = (args.class_size * table.wall_s / table.students / 60).round(1)
    print_table(table)
    tag = "_".join(args.assignments)
    write_csv(table, results_path(f"autograde_times_{tag}.csv", args.results_dir))
    write_json(dict(info, students=args.students, workers=args.workers, command=" ".join(sys.argv)),
               results_path(f"autograde_times_{tag}_machine.json", args.results_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main_guard(main))
