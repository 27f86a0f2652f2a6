"""How much a chapter trains (one place decides it), and where it keeps its results."""
import os
import os.path as osp

from spinup_lib.errors import UserError
from spinup_lib.run_files import make_new_folder

#: The environment variable that chooses the budget explicitly.
BUDGET_VARIABLE = "SPINUP_BUDGET"
BUDGET_MODES = ("small", "full")


# ----------------------------------------------------------------------------------------------
# The training budget
# ----------------------------------------------------------------------------------------------
def budget_mode():
    """The training budget in force: ``'small'`` or ``'full'``.

    ``SPINUP_BUDGET`` (``small`` or ``full``, any case) decides when set; otherwise a ``CI``
    variable with a true value (anything but empty, ``0`` or ``false``) means ``'small'``,
    and its absence ``'full'``.

    Raises:
        UserError: ``SPINUP_BUDGET`` holds something else.
    """
    mode = os.environ.get(BUDGET_VARIABLE, "").strip().lower()
    if mode in BUDGET_MODES:
        return mode
    if mode:
        raise UserError(f"{BUDGET_VARIABLE}={mode!r} is not understood: set it to 'small' or 'full', "
                        "or unset it")
    in_ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return "small" if in_ci else "full"


def budget(full, small):
    """Pick a training size: ``small`` under CI (or ``SPINUP_BUDGET=small``), else ``full``.

    Example: ``EPOCHS = budget(full=50, small=3)``.

    Args:
        full: the value a student's run uses (any object: a number, a tuple, a dict...).
        small: the value used when the notebook is checked quickly, in CI.
    """
    return small if budget_mode() == "small" else full


# ----------------------------------------------------------------------------------------------
# Where a chapter keeps its results
# ----------------------------------------------------------------------------------------------
def chapter_data_dir(chapter, root="data"):
    """A new folder for one execution of a chapter: ``<root>/<chapter>/<date>_<time>[_<n>]``.

    Chapters run from ``course/``, so their results land in ``course/data/`` (ignored by git) where
    a student can find them after the kernel is gone, and each execution gets its own folder, so
    running a chapter again never collides with, or overwrites, an earlier run.

    Args:
        chapter: the chapter's name, e.g. ``'04_vpg'``.
        root: the folder that holds every chapter's results (relative to the working directory).

    Returns:
        str: the path of the new, empty folder.
    """
    import time

    if not chapter or osp.basename(chapter) != chapter or chapter in (".", ".."):
        raise UserError(f"chapter_data_dir needs a plain folder name such as '04_vpg', not {chapter!r}")
    return osp.abspath(make_new_folder(osp.join(root, chapter, time.strftime("%Y-%m-%d_%H-%M-%S"))))

