"""nbgrader configuration for the course's exercises (problem sets ps1 and ps2).

Instructors run every nbgrader command from the repository root; README.md, "Exercises and grading
(instructors)", gives the commands for both ways a class hands work in (nbgrader's exchange, and
archives downloaded from an LMS with `nbgrader zip_collect`). Sources (with solutions, hidden tests
and rubrics) live in solutions/, the released student versions in exercises/.
"""
import re

from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from traitlets import Bool

c = get_config()  # noqa: F821  (provided by nbgrader when it reads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.course_id = "spinup-rebuilt"   # names the course in the exchange
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# Files nbgrader never copies (release, submit, collect, autograde): the training runs' full logs
# (data/: models and videos, large; the small result tables a student hands in are in results/),
# and an instructor's own runs of the source notebooks (solutions/ps2/INSTRUCTOR_SOURCE.md makes
# them write to instructor_runs/), which would otherwise be released to students with the exercises.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "data", "instructor_runs", "INSTRUCTOR_SOURCE.md"]

# The exchange (`nbgrader release_assignment`, `fetch_assignment`, `submit`, `collect`...) lives in
# /srv/nbgrader/exchange unless set here, e.g. for a class on one shared machine:
# c.Exchange.root = "/srv/nbgrader/exchange"

# Per-cell time limits. A cell that runs past its limit is interrupted and marked as an error, and
# grading goes on with the next cell, so one student's infinite loop costs at most its limit per
# cell that calls the looping code, and the rest of the notebook (and the class) is still graded.
# Answer and test cells run in well under a second; the learning checks of 1.2 and 1.3 train for
# 15-60 s per seed (two seeds when the first misses the bar), and ps2's training cells train
# nothing under nbgrader.
SHORT_CELL_TIMEOUT_S = 30
LONG_CELL_TIMEOUT_S = 600
LONG_CELLS = ("_learning_check", "_train", "_plot", "_setup", "_debug_setup", "_model_answer_check")


def cell_timeout(cell):
    """Seconds a cell may run: long for training and set-up cells, short for everything else."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
    return LONG_CELL_TIMEOUT_S if grade_id.endswith(LONG_CELLS) else SHORT_CELL_TIMEOUT_S


c.Execute.timeout = SHORT_CELL_TIMEOUT_S
c.Execute.timeout_func = cell_timeout

# A student who deletes a test cell gets it back at autograde (with a note), so its points still
# count; edited test and read-only cells are overwritten from the source by nbgrader anyway.
c.OverwriteCells.add_missing_cells = True


# ----------------------------------------------------------------------------------------------
# Feedback without the hidden tests
# ----------------------------------------------------------------------------------------------
class HideHiddenTests(ClearHiddenTests):
    """Feedback that shows each test's result and message, not the hidden tests' code.

    nbgrader's feedback shows the autograded notebook, hidden tests included (by design: jupyter/nbgrader
    issue 917). The next cohort would read them, and some hold the answers. This preprocessor removes
    the ``### BEGIN HIDDEN TESTS`` regions from the test cells and cuts from their error tracebacks
    the frames of the test cell itself (which quote its code), keeping the frames of the student's
    own code and the final ``Error: message`` line. Set ``enabled`` to False to publish the hidden
    tests (e.g. after the last cohort): ``nbgrader generate_feedback ps1 --HideHiddenTests.enabled=False``.
    """

    enabled = Bool(True, help="Remove the hidden tests' code from the feedback.").tag(config=True)
    enforce_metadata = Bool(False).tag(config=True)

    def preprocess(self, nb, resources):
        if not self.enabled:
            return nb, resources
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            return cell, resources
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        own_frame = f"Cell In[{cell.get('execution_count')}]"
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                # IPython's traceback: a header, one entry per frame ("Cell In[n], line l" quotes the
                # cell's lines), then "Error: message". The header and the last line name no cell.
                output["traceback"] = [line for line in output.get("traceback", [])
                                       if own_frame not in re.sub(r"\x1b\[[0-9;]*m", "", line)]
        return cell, resources


c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]


# ----------------------------------------------------------------------------------------------
# Submissions downloaded from an LMS: `nbgrader zip_collect ps1`
# ----------------------------------------------------------------------------------------------
# Put one archive per student in downloaded/<assignment>/archive/, named <student_id>.zip, holding
# the student's assignment folder (its notebooks, and for ps2 its results/ folder) with or without
# the folder itself at the top: downloaded/ps2/archive/alice.zip -> ps2/exercise2_1_....ipynb,
# ps2/results/ex2_1/<date>/progress.csv, ... zip_collect unpacks each archive into
# downloaded/<assignment>/extracted/<student_id>/ and this pattern (matched against those paths)
# reads the student id from the archive's name and the file's path inside the assignment folder.
# Hidden files and folders (.ipynb_checkpoints, __MACOSX, ._*) are not collected.
c.FileNameCollectorPlugin.named_regexp = (
    r".*[\\/]extracted[\\/](?P<student_id>[^\\/.][^\\/]*)[\\/]"   # extracted/<student_id>/
    r"(?:[^\\/.][^\\/]*[\\/])?"                                    # the assignment folder, if zipped
    r"(?P<file_id>(?:results[\\/](?:[^\\/.][^\\/]*[\\/])+[^\\/.][^\\/]*)|[^\\/.][^\\/]*\.ipynb)$")
c.FileNameCollectorPlugin.valid_ext = [".ipynb", ".csv", ".json"]
c.ZipCollectApp.strict = True   # skip notebooks whose names are not the released ones (with a warning)
