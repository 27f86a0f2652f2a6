"""nbgrader configuration for the course's exercises (problem sets ps1 and ps2).

Instructors, from the repository root (see README.md, "Exercises and grading"):
`nbgrader generate_assignment ps1`, collect submissions into submitted/<student>/ps1/,
`nbgrader autograde ps1`, grade the written answers in the formgrader, `nbgrader generate_feedback ps1`,
`nbgrader export`. Sources (with solutions and hidden tests) live in solutions/, the released
student versions in exercises/.
"""
c = get_config()  # noqa: F821  (provided by nbgrader when it reads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# Per-cell time limits. A cell that runs past its limit is interrupted and marked as an error, and
# grading goes on with the next cell, so one student's infinite loop costs at most its limit per
# cell that calls the looping code, and the rest of the notebook (and the class) is still graded.
# Answer and test cells run in well under a second; only the learning checks (ps1: 15-60 s) and
# the training cells (ps2: tiny runs under nbgrader) need more.
SHORT_CELL_TIMEOUT_S = 30
LONG_CELL_TIMEOUT_S = 300
LONG_CELLS = ("_learning_check", "_learning_setup", "_train", "_plot", "_setup", "_td3_loop")


def cell_timeout(cell):
    """Seconds a cell may run: long for training and set-up cells, short for everything else."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
    return LONG_CELL_TIMEOUT_S if grade_id.endswith(LONG_CELLS) else SHORT_CELL_TIMEOUT_S


c.Execute.timeout = SHORT_CELL_TIMEOUT_S
c.Execute.timeout_func = cell_timeout

# A student who deletes a test cell gets it back at autograde (with a note), so its points still
# count; edited test and read-only cells are overwritten from the source by nbgrader anyway.
c.OverwriteCells.add_missing_cells = True
