"""The nbgrader problem sets ps1 and ps2, graded end to end as an instructor grades a class.

Every step runs nbgrader's own command-line tools in temporary folders: the instructor's course
directory (a copy of solutions/ and nbgrader_config.py), nbgrader's exchange, and the students'
homes. Three classes are graded, their autogrades side by side on two cores (the exchange class's
two students at once, by two processes sharing its gradebook):

* **the exchange class** (alice: the reference solutions, with ps2 results of "her" full runs; bob:
  the blank release): release, fetch, submit, collect, autograde, manual grades (as the formgrader
  saves them), feedback generated, released and fetched by the students, grades exported.
* **the zip class**, graded with ``CI=true`` and ``SPINUP_BUDGET=small`` in the grader's
  environment: alice again (the same grades as without them), and carol, whose 1.2 policy and 1.3
  losses cannot learn and who tries every trick for the learning checks' points; two archives
  collected with ``zip_collect`` as they come from an LMS.
* **the mistakes class**, on a copy whose learning checks are shrunk (they are not what it tests):
  one submission per classic mistake (its points lost, its message naming the mistake), answers
  importing the library's, correct answers written other ways, tampered test cells, an infinite loop.

Cost: about 60 graded notebooks and 30 nbgrader commands (3 s of start-up each); the full learning
checks of 1.2 and 1.3 run for alice twice and for carol (two seeds each). Measured 2026-12-06:
611 s of CPU for the whole file (user + system, nbgrader and its kernels included), which is 6-8
minutes of wall time on two quiet cores (38 minutes on the shared machine, under a load of 14-20).
"""
import concurrent.futures
import csv
import io
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

import spinup_lib

TESTS = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(TESTS)
sys.path.insert(0, TESTS)
import exercise_submissions as sub  # noqa: E402  (crafted answers: kept out of the student edition)

# The committed notebook form (JupyterLab's, without the machine's Python version): tools/normalize_notebooks.py
sys.path.insert(0, osp.join(REPO, "tools"))
import normalize_notebooks  # noqa: E402

COURSE_ID = "spinup-rebuilt"
ASSIGNMENTS = {"ps1": [sub.NB11, sub.NB12, sub.NB13], "ps2": [sub.NB21, sub.NB22]}
NB11, NB12, NB13, NB21, NB22 = sub.NB11, sub.NB12, sub.NB13, sub.NB21, sub.NB22
# Points a full autograde gives (manually graded answers excluded: they are graded by hand).
AUTO_POINTS = {NB11: 5, NB12: 10, NB13: 11, NB21: 2, NB22: 6}
MANUAL_POINTS = {NB21: {"ex2_1_explanation": 3}, NB22: {"ex2_2_explanation": 3, "ex2_2_bonus": 1}}
LEARNING_CHECKS = {NB12: "ex1_2_learning_check", NB13: "ex1_3_learning_check"}


# ----------------------------------------------------------------------------------------------
# nbgrader, notebooks and gradebooks
# ----------------------------------------------------------------------------------------------
def clean_env(**extra):
    """The environment of an nbgrader process: no budget or CI variables unless given, and kernels
    that import this checkout's spinup_lib."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "SPINUP_BUDGET", "NBGRADER_EXECUTION") and not k.startswith("JUPYTER")}
    library_root = osp.dirname(osp.dirname(osp.abspath(spinup_lib.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([library_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(extra)
    return env


def nbgrader(cwd, *args, env=None):
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env or clean_env(),
                            capture_output=True, text=True)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed in {cwd}:\n{result.stdout}\n{result.stderr}"
    return result


def student(home, *args, exchange):
    """A student's nbgrader command, run in their home folder with their own caches."""
    env = clean_env(HOME=str(home), JUPYTER_DATA_DIR=str(home / ".jupyter-data"))
    return nbgrader(home, *args, "--course", COURSE_ID, f"--Exchange.root={exchange}", env=env)


def read_nb(path):
    return nbformat.read(str(path), as_version=4)


def source_nb(name):
    assignment = "ps1" if name in ASSIGNMENTS["ps1"] else "ps2"
    return read_nb(osp.join(REPO, "solutions", assignment, name + ".ipynb"))


def released_nb(name):
    assignment = "ps1" if name in ASSIGNMENTS["ps1"] else "ps2"
    return read_nb(osp.join(REPO, "exercises", assignment, name + ".ipynb"))


def with_answers(name, answers, before_check=None):
    """The reference solution of notebook `name`, some answer cells (by grade_id) replaced; and,
    with before_check, a cell of the student's own inserted just before the learning check."""
    nb = source_nb(name)
    answers = dict(answers)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers.pop(grade_id)
    assert not answers, f"no such cells in {name}: {list(answers)}"
    if before_check:
        index = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells].index(LEARNING_CHECKS[name])
        nb.cells.insert(index, nbformat.v4.new_code_cell(before_check))
    return nb


def write_notebooks(folder, notebooks):
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, str(folder / (name + ".ipynb")))


def gradebook(course):
    from nbgrader.api import Gradebook

    return Gradebook("sqlite:///" + str(course / "gradebook.db"))


def scores(course, assignment, student_id):
    """{notebook: autograded score} and {(notebook, grade_id): score} of one student's submission."""
    with gradebook(course) as gb:
        submission = gb.find_submission(assignment, student_id)
        notebooks = {nb.name: nb.score for nb in submission.notebooks}
        cells = {(nb.name, grade.name): grade.score for nb in submission.notebooks for grade in nb.grades}
    return notebooks, cells


def autograded(course, assignment, student_id, name):
    return read_nb(course / "autograded" / student_id / assignment / (name + ".ipynb"))


def cell_text(nb, grade_id):
    """The outputs of one cell as text (streams, results, error names and messages)."""
    cell = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(cell) == 1, grade_id
    parts = []
    for out in cell[0].get("outputs", []):
        parts += [out.get("text", ""), str(out.get("data", {}).get("text/plain", "")),
                  out.get("ename", ""), out.get("evalue", "")]
    return "\n".join(parts)


def results_of_a_full_run(folder, experiment):
    """What ps2's training cell saves after a full run (small synthetic tables with its columns)."""
    rows = []
    if experiment == "ex2_1":
        for v_iters in (0, 80):
            for seed in (0, 10, 20):
                for epoch in range(3):
                    rows.append(dict(Epoch=epoch, TotalEnvInteracts=4000 * (epoch + 1), AverageEpRet=100 + epoch * v_iters,
                                     LossV=50.0 / (1 + v_iters), train_v_iters=v_iters, seed=seed))
        note = dict(train_v_iters=[0, 80])
    else:
        for name in ("library", "notebook"):
            for seed in (0, 10, 20):
                for epoch in range(3):
                    rows.append(dict(Epoch=epoch, TotalEnvInteracts=5000 * (epoch + 1), AverageQVals=epoch,
                                     AverageTestEpRet=(500 if name == "library" else 50) * epoch,
                                     actor_critic=name, seed=seed))
        note = dict(actor_critics=["library", "notebook"])
    run = folder / "results" / experiment / "2026-01-01_12-00-00"
    run.mkdir(parents=True)
    with open(run / "progress.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    note.update(experiment=experiment, budget="full", epochs=3, steps_per_epoch=4000, seeds=[0, 10, 20],
                seconds=600.0, finished="2026-01-01 12:00:00")
    (run / "run.json").write_text(json.dumps(note))


def shrink_learning_checks(course):
    """Make the learning checks of a course copy tiny (for classes that test other things)."""
    for name, line, small in [(NB12, "EPOCHS, STEPS_PER_EPOCH, BAR, SEEDS = 12, 2000, 40.0, (0, 1)",
                               "EPOCHS, STEPS_PER_EPOCH, BAR, SEEDS = 1, 200, -1.0, (0,)"),
                              (NB13, "EPOCHS, STEPS_PER_EPOCH, BAR, SEEDS = 6, 1000, 40.0, (0, 1)",
                               "EPOCHS, STEPS_PER_EPOCH, BAR, SEEDS = 1, 200, -1.0, (0,)")]:
        path = course / "solutions" / "ps1" / (name + ".ipynb")
        nb = read_nb(path)
        check = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == LEARNING_CHECKS[name]][0]
        assert check.source.count(line) == 1, f"{name}: the learning check's budget line changed; update this test"
        check.source = check.source.replace(line, small)
        nbformat.write(nb, str(path))


def new_course(root):
    root.mkdir(parents=True)
    shutil.copytree(osp.join(REPO, "solutions"), root / "solutions")
    shutil.copy(osp.join(REPO, "nbgrader_config.py"), root)
    return root


def run_side_by_side(chains, workers=2):
    """Run chains of (cwd, args, env) nbgrader jobs, `workers` chains at a time; the jobs of a chain
    run one after another (each chain works in its own course folder and gradebook)."""
    def run_chain(chain):
        for cwd, args, env in chain:
            nbgrader(cwd, *args, env=env)

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(run_chain, chain) for chain in chains]:
            future.result()


# ----------------------------------------------------------------------------------------------
# The three classes, prepared and graded once for the whole module
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    root = tmp_path_factory.mktemp("classes")
    exchange = root / "exchange"
    exchange.mkdir()
    homes = {name: root / "home" / name for name in ("alice", "bob")}
    for home in homes.values():
        home.mkdir(parents=True)

    # --- the exchange class: release, fetch, work, submit, collect -------------------------------
    course = new_course(root / "course")
    nbgrader(course, "generate_assignment", "*", "--force")   # both assignments
    for assignment in ASSIGNMENTS:
        nbgrader(course, "release_assignment", assignment, f"--Exchange.root={exchange}")
    for name, home in homes.items():
        for assignment in ASSIGNMENTS:
            student(home, "fetch_assignment", assignment, exchange=exchange)
    alice, bob = homes["alice"], homes["bob"]
    for assignment, names in ASSIGNMENTS.items():      # alice: the reference solutions
        write_notebooks(alice / assignment, {name: source_nb(name) for name in names})
    results_of_a_full_run(alice / "ps2", "ex2_1")       # ... and the results of her full ps2 runs
    results_of_a_full_run(alice / "ps2", "ex2_2")
    (alice / "ps2" / "data" / "ex2_1").mkdir(parents=True)  # full logs: never collected
    (alice / "ps2" / "data" / "ex2_1" / "model.pt").write_bytes(b"0" * 1000)
    for name, home in homes.items():                    # bob hands in the release as fetched
        for assignment in ASSIGNMENTS:
            student(home, "submit", assignment, "--student", name, exchange=exchange)
    for assignment in ASSIGNMENTS:
        nbgrader(course, "collect", assignment, f"--Exchange.root={exchange}")

    # --- the zip class: archives as downloaded from an LMS ---------------------------------------
    zipped = new_course(root / "zipped")
    nbgrader(zipped, "generate_assignment", "*", "--force")
    carol = {NB11: source_nb(NB11),
             **{name: with_answers(name, answers, before_check=sub.NAME_TRICKS) for name, answers in sub.TRICKS.items()}}
    for assignment in ASSIGNMENTS:
        archive = zipped / "downloaded" / assignment / "archive"
        archive.mkdir(parents=True)
        # alice zipped her assignment folder itself; carol its contents, with a Mac's extra files
        with zipfile.ZipFile(archive / "alice.zip", "w") as z:
            for path in sorted((alice / assignment).rglob("*")):
                if path.is_file():
                    z.write(path, osp.join(assignment, path.relative_to(alice / assignment)))
        with zipfile.ZipFile(archive / "carol.zip", "w") as z:
            for name in ASSIGNMENTS[assignment]:
                nb = carol.get(name, released_nb(name))
                z.writestr(name + ".ipynb", nbformat.writes(nb))
                z.writestr(f"__MACOSX/._{name}.ipynb", "resource fork")
            z.writestr(".ipynb_checkpoints/notes-checkpoint.ipynb", "{}")
        nbgrader(zipped, "zip_collect", assignment)

    # --- the mistakes class ----------------------------------------------------------------------
    mistakes = new_course(root / "mistakes")
    shrink_learning_checks(mistakes)
    nbgrader(mistakes, "generate_assignment", "*", "--force")
    submitted = {assignment: mistakes / "submitted" for assignment in ASSIGNMENTS}
    for student_id, (name, answers, _) in {**sub.MISTAKES, **sub.LIBRARY_ANSWERS, **sub.MISTAKES_PS2}.items():
        assignment = "ps1" if name in ASSIGNMENTS["ps1"] else "ps2"
        write_notebooks(submitted[assignment] / student_id / assignment, {name: with_answers(name, answers)})
    write_notebooks(submitted["ps1"] / "alternatives" / "ps1", {NB11: with_answers(NB11, sub.ALTERNATIVE_1_1),
                                                         NB12: with_answers(NB12, sub.ALTERNATIVES_1_2["alt2"]),
                                                         NB13: with_answers(NB13, sub.ALTERNATIVES_1_3["alt2"])})
    write_notebooks(submitted["ps1"] / "alternatives1" / "ps1", {NB12: with_answers(NB12, sub.ALTERNATIVES_1_2["alt1"]),
                                                          NB13: with_answers(NB13, sub.ALTERNATIVES_1_3["alt1"])})
    write_notebooks(submitted["ps2"] / "alternatives" / "ps2", {NB22: with_answers(NB22, sub.ALTERNATIVE_2_2)})
    write_notebooks(submitted["ps2"] / "infinite_loop" / "ps2", {NB22: with_answers(NB22, sub.INFINITE_LOOP_CHECKER)})
    wrong = sub.ll("    return torch.zeros(x.shape[0])")   # right shape, wrong values
    edited, deleted = with_answers(NB11, wrong), with_answers(NB11, wrong)
    for cell in edited.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "pass  # tests removed by the student"
    deleted.cells = [c for c in deleted.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    write_notebooks(submitted["ps1"] / "edited_tests" / "ps1", {NB11: edited})
    write_notebooks(submitted["ps1"] / "deleted_tests" / "ps1", {NB11: deleted})

    # --- every autograde, two at a time ----------------------------------------------------------
    # The exchange class is graded first, one process per student at once on its one gradebook, as
    # the README's "Time for a class" grades two students at a time.
    grader_in_ci = clean_env(CI="true", SPINUP_BUDGET="small")
    run_side_by_side([[(course, ["autograde", "*", "--student", "alice"], None)],
                      [(course, ["autograde", "*", "--student", "bob"], None)],
                      [(zipped, ["autograde", "*"], grader_in_ci)], [(mistakes, ["autograde", "*"], None)]])

    # --- the exchange class: manual grades, feedback, export ---------------------------------------
    with gradebook(course) as gb:   # what the formgrader saves when the instructor grades by hand
        for name, cells in MANUAL_POINTS.items():
            for grade_id, points in cells.items():
                for student_id, score in (("alice", points), ("bob", 0)):
                    grade = gb.find_grade(grade_id, name, "ps2", student_id)
                    grade.manual_score = score
                    comment = gb.find_comment(grade_id, name, "ps2", student_id)
                    comment.manual_comment = f"COMMENT-{student_id}-{grade_id}"
        gb.db.commit()
    nbgrader(course, "generate_feedback", "*")
    for assignment in ASSIGNMENTS:
        nbgrader(course, "release_feedback", assignment, f"--Exchange.root={exchange}")
        for name, home in homes.items():
            student(home, "fetch_feedback", assignment, "--student", name, exchange=exchange)
    nbgrader(course, "export", "--to", "grades.csv")
    nbgrader(zipped, "generate_feedback", "*")
    return dict(course=course, zipped=zipped, mistakes=mistakes, homes=homes, exchange=exchange)


# ----------------------------------------------------------------------------------------------
# The round trip
# ----------------------------------------------------------------------------------------------
def test_exchange_round_trip_grades_and_returns_feedback(classes):
    course, homes = classes["course"], classes["homes"]
    for assignment, names in ASSIGNMENTS.items():
        alice, _ = scores(course, assignment, "alice")
        bob, _ = scores(course, assignment, "bob")
        for name in names:
            manual = sum(MANUAL_POINTS.get(name, {}).values())
            assert alice[name] == AUTO_POINTS[name] + manual, (assignment, name, alice)
            assert bob[name] == 0, (assignment, name, bob)
        for student_id, home in homes.items():
            fetched = list((home / assignment / "feedback").rglob("*.html"))
            assert sorted(p.stem for p in fetched) == sorted(names), (student_id, assignment, fetched)
    # the manual grades and comments reach the students' feedback
    html = feedback_text(next((homes["alice"] / "ps2" / "feedback").rglob(NB22 + ".html")))
    assert "COMMENT-alice-ex2_2_explanation" in html
    with open(course / "grades.csv") as f:
        rows = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(f)}
    assert rows[("ps1", "alice")] == 26 and rows[("ps2", "alice")] == 15
    assert rows[("ps1", "bob")] == 0 and rows[("ps2", "bob")] == 0


def test_ps2_is_graded_on_the_students_own_results(classes):
    course = classes["course"]
    collected = course / "submitted" / "alice" / "ps2"
    assert len(list((collected / "results").rglob("progress.csv"))) == 2
    assert not (collected / "data").exists(), "the full logs in data/ must not be collected"
    for name, plot in ((NB21, "ex2_1_plot"), (NB22, "ex2_2_plot")):
        train = "ex2_1_train" if name == NB21 else "ex2_2_train"
        alice, bob = autograded(course, "ps2", "alice", name), autograded(course, "ps2", "bob", name)
        assert "no training here" in cell_text(alice, train) and "took" not in cell_text(alice, train)
        text = cell_text(alice, plot)
        assert "Results of the run saved 2026-01-01 12:00:00" in text and "nothing is retrained" in text
        assert any("image/png" in out.get("data", {}) for c in alice.cells for out in c.get("outputs", [])
                   if c.metadata.get("nbgrader", {}).get("grade_id") == plot), "the plot of the student's results"
        assert "NO RESULTS" in cell_text(bob, plot) and "none was handed in" in cell_text(bob, plot)


def feedback_text(path):
    """The text a student reads in a feedback file (HTML tags removed)."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def test_feedback_keeps_the_hidden_tests_hidden(classes):
    homes = classes["homes"]
    for assignment, names in ASSIGNMENTS.items():
        for name in names:
            html = feedback_text(next((homes["bob"] / assignment / "feedback").rglob(name + ".html")))
            for secret in ("BEGIN HIDDEN TESTS", "reference_log_likelihood", "forward_by_hand", "calls_to",
                           "ReferenceQFunction", "ReferenceDistribution", "SqueezeAll"):
                assert secret not in html, f"{name}'s feedback shows {secret!r}"
    # what the student needs is still there: the visible tests and the failed tests' messages
    html = feedback_text(next((homes["bob"] / "ps1" / "feedback").rglob(NB11 + ".html")))
    assert "NotImplementedError" in html and "assert torch.is_tensor(out)" in html
    assert "---> 13 raise NotImplementedError()" in html   # the frame of the student's own code is kept


def test_zip_collect_grades_two_archives_and_writes_feedback(classes):
    zipped = classes["zipped"]
    for assignment, names in ASSIGNMENTS.items():
        collected = sorted(p.name for p in (zipped / "submitted" / "carol" / assignment).glob("*.ipynb"))
        assert collected == sorted(n + ".ipynb" for n in names)   # no __MACOSX or checkpoint copies
    for student_id in ("alice", "carol"):
        for assignment, names in ASSIGNMENTS.items():
            fed = sorted(p.stem for p in (zipped / "feedback" / student_id / assignment).glob("*.html"))
            assert fed == sorted(names), (student_id, assignment, fed)
    assert len(list((zipped / "submitted" / "alice" / "ps2" / "results").rglob("run.json"))) == 2
    alice, _ = scores(zipped, "ps2", "alice")
    assert alice == {NB21: AUTO_POINTS[NB21], NB22: AUTO_POINTS[NB22]}
    carol, cells = scores(zipped, "ps1", "carol")
    assert carol[NB11] == AUTO_POINTS[NB11]


def test_grading_in_ci_gives_the_same_grades(classes):
    """CI=true and SPINUP_BUDGET=small in the grader's environment change no grade."""
    manual = {(name, grade_id) for name, cells in MANUAL_POINTS.items() for grade_id in cells}
    for assignment in ASSIGNMENTS:   # (the exchange class's written answers were graded by hand)
        plain = {cell: score for cell, score in scores(classes["course"], assignment, "alice")[1].items() if cell not in manual}
        in_ci = {cell: score for cell, score in scores(classes["zipped"], assignment, "alice")[1].items() if cell not in manual}
        assert plain == in_ci
        assert all(score == AUTO_POINTS[name] for name, score in scores(classes["zipped"], assignment, "alice")[0].items())


def test_no_trick_earns_the_learning_points(classes):
    """carol's 1.2 policy and 1.3 losses cannot learn; she tries every trick: environment variables
    (SPINUP_BUDGET, CI, NBGRADER_EXECUTION), a rebound budget helper, and her own cell rebinding the
    check's names (CHECK, BAR, SEEDS, learning_check, learning_score, run_td3, max...), graded with
    CI=true in the grader's environment. The checks still run their full budget, on both seeds."""
    zipped = classes["zipped"]
    _, cells = scores(zipped, "ps1", "carol")
    for name, grade_id in LEARNING_CHECKS.items():
        assert cells[(name, grade_id)] == 0, f"{name}: a trick earned the learning check's points"
        text = cell_text(autograded(zipped, "ps1", "carol", name), grade_id)
        assert "seed 1: score" in text and "bar 40.0" in text, text[-2000:]
    ppo_epochs = re.search(r"seed 0: AverageEpRet per epoch \[([^\]]*)\]", cell_text(autograded(zipped, "ps1", "carol", NB12),
                                                                                  "ex1_2_learning_check"))
    assert ppo_epochs and len(ppo_epochs.group(1).split(",")) == 12, "the full 12 epochs"


# ----------------------------------------------------------------------------------------------
# Mistakes, their messages, answers that import the library's, and correct answers
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("student_id", sorted(sub.MISTAKES))
def test_a_classic_mistake_costs_its_own_points_and_names_itself(classes, student_id):
    mistakes = classes["mistakes"]
    name, _, failing = sub.MISTAKES[student_id]
    _, cells = scores(mistakes, "ps1", student_id)
    graded = autograded(mistakes, "ps1", student_id, name)
    for (notebook, grade_id), score in cells.items():
        if notebook != name:
            continue
        if grade_id in failing:
            assert score == 0, f"{grade_id} gave {score} points to {student_id}"
            message = cell_text(graded, grade_id)
            assert failing[grade_id] in message, f"{grade_id}'s message does not name the mistake:\n{message[-800:]}"
            assert re.search(r"[Cc]hapter 0\d|formula above|Part 3 above", message), "no section to reread"
        elif name != NB11:   # the other pieces (or aspects) keep their points; 1.1 is a single formula
            assert score > 0, f"{student_id}: {grade_id} lost its points to another piece's mistake"


@pytest.mark.parametrize("student_id", sorted({**sub.LIBRARY_ANSWERS, **sub.MISTAKES_PS2}))
def test_answers_importing_the_library_and_ps2_mistakes_lose_points(classes, student_id):
    name, _, failing = {**sub.LIBRARY_ANSWERS, **sub.MISTAKES_PS2}[student_id]
    assignment = "ps1" if name in ASSIGNMENTS["ps1"] else "ps2"
    _, cells = scores(classes["mistakes"], assignment, student_id)
    for grade_id in failing:
        assert cells[(name, grade_id)] == 0, f"{student_id} kept the points of {grade_id}"


def test_correct_answers_written_another_way_get_full_marks(classes):
    for student_id, assignment, names in (("alternatives", "ps1", ASSIGNMENTS["ps1"]), ("alternatives1", "ps1", [NB12, NB13]),
                                          ("alternatives", "ps2", [NB22])):
        notebooks, _ = scores(classes["mistakes"], assignment, student_id)
        for name in names:
            assert notebooks[name] == AUTO_POINTS[name], (student_id, name, notebooks[name])


@pytest.mark.parametrize("student_id", ["edited_tests", "deleted_tests"])
def test_edited_or_deleted_test_cells_are_restored(classes, student_id):
    # A wrong answer that returns the right shape: only the shape test passes.
    mistakes = classes["mistakes"]
    notebooks, cells = scores(mistakes, "ps1", student_id)
    assert notebooks[NB11] == 1
    assert cells[(NB11, "ex1_1_test_values")] == 0 and cells[(NB11, "ex1_1_test_gradient")] == 0
    restored = [c for c in autograded(mistakes, "ps1", student_id, NB11).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1_1_test_values"]
    assert len(restored) == 1 and "reference_log_likelihood" in restored[0].source  # hidden part included


def test_infinite_loop_is_cut_off_and_the_rest_is_graded(classes):
    mistakes = classes["mistakes"]
    _, cells = scores(mistakes, "ps2", "infinite_loop")
    assert cells[(NB22, "ex2_2_test_check_q")] == 0 and cells[(NB22, "ex2_2_test_fixed_q")] == 3
    graded = autograded(mistakes, "ps2", "infinite_loop", NB22)
    outputs = json.dumps([c.get("outputs", []) for c in graded.cells])
    assert "CellTimeoutError" in outputs or "KeyboardInterrupt" in outputs
    assert "NO RESULTS" in cell_text(graded, "ex2_2_plot")  # ... and the cells after it ran


# ----------------------------------------------------------------------------------------------
# Releases, sources and the student edition
# ----------------------------------------------------------------------------------------------
def strip_volatile(nb):
    """What matters in a released notebook: cells (type, id, source, metadata) and metadata."""
    return dict(metadata=nb.metadata, nbformat=(nb.nbformat, nb.nbformat_minor),
                cells=[dict(cell_type=c.cell_type, id=c.get("id"), source=c.source, metadata=c.metadata)
                       for c in nb.cells])


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_committed_release_matches_generate_assignment(classes, assignment):
    course = classes["course"]
    committed = sorted(f for f in os.listdir(osp.join(REPO, "exercises", assignment)) if f.endswith(".ipynb"))
    generated = sorted(f for f in os.listdir(course / "exercises" / assignment) if f.endswith(".ipynb"))
    assert committed == generated == sorted(n + ".ipynb" for n in ASSIGNMENTS[assignment])
    for name in committed:
        mine = strip_volatile(read_nb(osp.join(REPO, "exercises", assignment, name)))
        fresh = strip_volatile(read_nb(course / "exercises" / assignment / name))
        assert mine == fresh, (f"exercises/{assignment}/{name} differs from what `nbgrader generate_assignment "
                               f"{assignment}` makes from solutions/: regenerate it (see README.md)")


def test_sources_follow_the_contract():
    """The answer cells instructors and external graders rely on, and committed notebooks without outputs."""
    expected = {NB11: ["ex1_1_gaussian_likelihood"], NB12: ["ex1_2_mlp", "ex1_2_sample", "ex1_2_actor"],
                NB13: ["ex1_3_td3_losses"], NB21: ["ex2_1_gae"], NB22: ["ex2_2_fixed_q", "ex2_2_check_q"]}
    for name, answer_ids in expected.items():
        nb = source_nb(name)
        autograded_answers = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                              if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
        assert autograded_answers == answer_ids, name
        assert nb.metadata == {"kernelspec": normalize_notebooks.KERNELSPEC,
                               "language_info": normalize_notebooks.LANGUAGE_INFO}
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{name} has outputs"
    for name, cells in MANUAL_POINTS.items():   # each ps2 exercise has manually graded written answers
        written = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"] for c in source_nb(name).cells
                   if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")}
        assert written == cells


def test_release_of_2_2_gives_the_bug_no_name():
    text = "\n".join(c.source for c in released_nb(NB22).cells)
    for hint in ("(batch, 1)", "(B, 1)", "(B,1)", "squeeze", "MLPQFunction)", "core.MLPQFunction", "Bugged", "B = 1"):
        assert hint not in text, f"the release of 2.2 says {hint!r}"
    with open(osp.join(REPO, "spinup_lib", "core.py")) as f:
        assert "exercise" not in f.read().lower()


def test_validate_tells_a_student_whether_the_tests_pass():
    from nbgrader.validator import Validator

    passed = Validator().validate(osp.join(REPO, "solutions", "ps1", NB11 + ".ipynb"))
    blank = Validator().validate(osp.join(REPO, "exercises", "ps1", NB11 + ".ipynb"))
    assert not passed.get("failed") and not passed.get("type_changed")
    assert blank.get("failed"), "validating the blank release must report failing cells"


def test_an_instructors_own_runs_never_reach_the_release(tmp_path):
    """The source folder's INSTRUCTOR_SOURCE.md sends ps2's results to instructor_runs/, which nbgrader
    never copies; a student's folder (no such file) keeps them in results/, which it collects."""
    course = new_course(tmp_path / "course")
    setup = [c.source for c in source_nb(NB21).cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex2_1_setup"][0]
    program = setup + "\nprint(save_results('ex2_1', pd.DataFrame({'AverageEpRet': [1.0]}), {'budget': 'full'}))\n"
    source_folder, student_folder = course / "solutions" / "ps2", tmp_path / "student"
    student_folder.mkdir()
    saved = {}
    for folder in (source_folder, student_folder):
        result = subprocess.run([sys.executable, "-c", program], cwd=folder, env=clean_env(), capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        saved[folder] = result.stdout.strip().splitlines()[-1]
    assert saved[source_folder].startswith("instructor_runs") and saved[student_folder].startswith("results")
    (source_folder / "data" / "ex2_1").mkdir(parents=True)
    (source_folder / "data" / "ex2_1" / "progress.txt").write_text("logs")
    nbgrader(course, "generate_assignment", "ps2", "--force")
    released = sorted(str(p.relative_to(course / "exercises" / "ps2")) for p in (course / "exercises" / "ps2").rglob("*"))
    assert released == sorted([".gitignore", NB21 + ".ipynb", NB22 + ".ipynb"]), released


def secret_lines():
    """Lines of the solutions, hidden tests and model answers (and of the crafted answers)."""
    secrets = set()
    for assignment, names in ASSIGNMENTS.items():
        for name in names:
            for cell in source_nb(name).cells:
                meta = cell.metadata.get("nbgrader", {})
                inside = meta.get("solution") and cell.cell_type == "markdown"   # model answers and rubrics
                for line in cell.source.splitlines():
                    if re.search(r"BEGIN (SOLUTION|HIDDEN TESTS)", line):
                        inside = True
                    elif re.search(r"END (SOLUTION|HIDDEN TESTS)", line):
                        inside = meta.get("solution") and cell.cell_type == "markdown"
                    elif inside:
                        secrets.add(line.strip())
    with open(osp.join(TESTS, "exercise_submissions.py")) as f:
        secrets |= {line.strip() for line in f if line.strip().startswith(('"', "'", "    "))}
    return {line for line in secrets if len(line) >= 12 and not line.startswith("#")}


def shown_lines():
    """Lines the course, the library and the releases show anyway."""
    shown = set()
    for folder in ("course", "spinup_lib", "exercises"):
        for path in [p for ext in ("*.py", "*.ipynb", "*.md") for p in __import__("pathlib").Path(REPO, folder).rglob(ext)]:
            if path.suffix == ".ipynb":
                text = "\n".join(c.source for c in read_nb(path).cells)
            else:
                text = path.read_text(encoding="utf-8")
            shown |= {line.strip() for line in text.splitlines()}
    return shown


def test_student_edition_holds_no_answer(tmp_path):
    out = tmp_path / "edition"
    result = subprocess.run([sys.executable, osp.join(REPO, "tools", "student_edition.py"), str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert not any(f.startswith("solutions") or "ps2_full_runs" in f or "/results/ex2_" in f for f in files)
    assert not {"tests/test_exercises.py", "tests/exercise_submissions.py"} & set(files)
    for wanted in ("README.md", "requirements.txt", "environment.yml", "pyproject.toml", "nbgrader_config.py",
                   "exercises/README.md", "exercises/ps1/" + NB11 + ".ipynb", "exercises/ps2/" + NB22 + ".ipynb",
                   "course/01_key_concepts.ipynb", "spinup_lib/core.py", "tests/test_core.py"):
        assert wanted in files, wanted
    assert "student edition" in (out / "README.md").read_text()
    secrets = secret_lines() - shown_lines()
    assert len(secrets) > 100   # the check has something to find
    leaks = []
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".txt", ".toml", ".yml", ".cfg", ".json", ""):
            text = path.read_text(encoding="utf-8", errors="replace")
            lines = {line.strip() for line in text.splitlines()}
            if path.suffix == ".ipynb":
                lines |= {line.strip() for c in read_nb(path).cells for line in c.source.splitlines()}
            leaks += [f"{path.relative_to(out)}: {line}" for line in lines & secrets]
    assert not leaks, "the student edition shows answers:\n" + "\n".join(leaks[:20])
    # and the edition refuses to overwrite an earlier one
    again = subprocess.run([sys.executable, osp.join(REPO, "tools", "student_edition.py"), str(out)],
                           capture_output=True, text=True)
    assert again.returncode != 0 and "already exists" in again.stderr
