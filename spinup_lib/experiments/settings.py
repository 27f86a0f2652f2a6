"""The experiment machinery's settings, read each time they are used, so that a test or a notebook
can change them: ``FORCE_DATESTAMP``, ``DEFAULT_SHORTHAND`` and ``WAIT_BEFORE_LAUNCH``, described
with ``DEFAULT_DATA_DIR`` (:func:`spinup_lib.run_files.default_data_dir`) in their public path,
:mod:`spinup_lib.run_utils`. Also: the algorithms by name, and how many processes a run may have.
"""
import difflib
import importlib
import os

from spinup_lib.checks import MPI_ALGORITHMS
from spinup_lib.errors import UserError

# What the two switches are until assigned, and again after `del`.
SWITCH_DEFAULTS = {"FORCE_DATESTAMP": False, "DEFAULT_SHORTHAND": True}
FORCE_DATESTAMP = SWITCH_DEFAULTS["FORCE_DATESTAMP"]
DEFAULT_SHORTHAND = SWITCH_DEFAULTS["DEFAULT_SHORTHAND"]

# The algorithms `python -m spinup_lib.run` knows, each `spinup_lib.algos.<name>.<name>`,
# and the ones written to run data-parallel on several MPI processes.
ALGORITHM_NAMES = ("vpg", "trpo", "ppo", "ddpg", "td3", "sac")
MPI_ALGORITHM_NAMES = MPI_ALGORITHMS

DIV_LINE_WIDTH = 80


# ----------------------------------------------------------------------------------------------
# Settings read at call time
# ----------------------------------------------------------------------------------------------
def __getattr__(name):
    # Read when used: `run_utils.WAIT_BEFORE_LAUNCH` follows the environment variable at the
    # moment it is used, unless a value was assigned to the module.
    if name == "WAIT_BEFORE_LAUNCH":
        return wait_before_launch()
    if name in SWITCH_DEFAULTS:  # deleted: back to its default
        return SWITCH_DEFAULTS[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def wait_before_launch():
    """Seconds to wait before a grid launches (see the module docstring)."""
    assigned = globals().get("WAIT_BEFORE_LAUNCH")
    if assigned is not None:
        return float(assigned)
    text = os.environ.get("SPINUP_WAIT_BEFORE_LAUNCH", "").strip()
    if not text:
        return 0.0
    try:
        return max(0.0, float(text))
    except ValueError:
        raise UserError(f"SPINUP_WAIT_BEFORE_LAUNCH={text!r} is not a number of seconds") from None


# More MPI processes than this per CPU only slow a run down (and a typo such as --cpu 1000
# would start a thousand Python processes).
MAX_PROCS_PER_CPU = 4


def resolve_num_cpu(num_cpu):
    """``num_cpu`` as an int from 1 to 4 per CPU of this machine; 'auto' means one per CPU."""
    cpus = os.cpu_count() or 1
    if num_cpu == "auto":
        return cpus
    if isinstance(num_cpu, bool) or not isinstance(num_cpu, int) or num_cpu < 1:
        raise UserError(f"num_cpu (--cpu) must be a positive int or 'auto', got {num_cpu!r}")
    if num_cpu > MAX_PROCS_PER_CPU * cpus:
        raise UserError(f"num_cpu (--cpu) is {num_cpu}, more than {MAX_PROCS_PER_CPU} processes per CPU of "
                        f"this machine ({cpus} CPUs): use at most {MAX_PROCS_PER_CPU * cpus}, or 'auto' "
                        "for one per CPU")
    return num_cpu


# ----------------------------------------------------------------------------------------------
# Algorithms by name
# ----------------------------------------------------------------------------------------------
def algorithm_is_implemented(name):
    """Whether ``spinup_lib/algos/<name>.py`` exists (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(f"spinup_lib.algos.{name}") is not None


def load_algorithm(name):
    """The algorithm function ``spinup_lib.algos.<name>.<name>``.

    Raises:
        UserError: an unknown name (with close matches) or an algorithm not written yet.
    """
    if name not in ALGORITHM_NAMES:
        close = difflib.get_close_matches(str(name), ALGORITHM_NAMES, n=2, cutoff=0.5)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UserError(f"unknown algorithm '{name}': {hint}choose one of {', '.join(ALGORITHM_NAMES)}")
    module_name = f"spinup_lib.algos.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise  # a missing dependency inside the algorithm is a real error
        raise UserError(f"{name} is not implemented yet: try one of "
                        f"{', '.join(a for a in ALGORITHM_NAMES if algorithm_is_implemented(a))}") from None
    return getattr(module, name)

