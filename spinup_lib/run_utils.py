"""Launching experiments: the public path of :mod:`spinup_lib.experiments`, where the code is.

* :func:`setup_logger_kwargs` decides a run's output directory from its name, seed and date.
* :func:`call_experiment` runs one function call (an algorithm and its arguments) in a new
  Python process, so that nothing (RNG state, torch threads, MPI) leaks between experiments.
* :class:`ExperimentGrid` runs every combination of a set of hyperparameter values (in series,
  several at once, or on a Ray cluster), naming each run after the values that differ; run
  again, a grid goes on where it stopped.
* :func:`parse_value` turns command-line text into Python values without ``eval``.
* :func:`resume_experiment` continues a run from its ``checkpoint.pt``.

Settings, read each time they are used (so a test or a notebook can change them): assigned here
(``spinup_lib.run_utils.FORCE_DATESTAMP = True``) or deleted, they change for the whole library.

``DEFAULT_DATA_DIR``
    ``$SPINUP_DATA_DIR`` if set, else ``./data`` under the current working directory.
    Assign ``spinup_lib.run_utils.DEFAULT_DATA_DIR = path`` to override both, for every run
    (the logger's default folder too; ``del spinup_lib.run_utils.DEFAULT_DATA_DIR`` undoes it).
``FORCE_DATESTAMP``
    When True every output directory gets a date and time, as if ``datestamp=True``.
``DEFAULT_SHORTHAND``
    When True a grid parameter without a shorthand gets one made from its name.
``WAIT_BEFORE_LAUNCH``
    Seconds :meth:`ExperimentGrid.run` waits after listing the runs, so a mistake can be
    stopped with Ctrl-C: ``$SPINUP_WAIT_BEFORE_LAUNCH``, else 0. Assign to override.
"""
import sys
import types

from spinup_lib import run_files as _run_files
from spinup_lib.dotted_names import TRUSTED_MODULES, check_module_names, in_modules, resolve_class
from spinup_lib.experiments import settings as _settings
from spinup_lib.experiments.calls import ExperimentFailed, call_experiment, print_end_banner, run_in_fresh_process
from spinup_lib.experiments.flags import parse_value
from spinup_lib.experiments.grid import ExperimentGrid
from spinup_lib.experiments.naming import (MAX_EXP_NAME_LENGTH, check_exp_name, check_run_dir_is_free,
                                           default_shorthand, path_safe_name, setup_logger_kwargs)
from spinup_lib.experiments.resume import resume_experiment
from spinup_lib.experiments.settings import (ALGORITHM_NAMES, DIV_LINE_WIDTH, MAX_PROCS_PER_CPU,
                                             MPI_ALGORITHM_NAMES, algorithm_is_implemented, load_algorithm,
                                             resolve_num_cpu, wait_before_launch)
from spinup_lib.logx import colorize
from spinup_lib.run_files import default_data_dir

__all__ = ["TRUSTED_MODULES", "check_module_names", "in_modules", "resolve_class", "ExperimentFailed",
           "call_experiment", "print_end_banner", "run_in_fresh_process", "parse_value", "ExperimentGrid",
           "MAX_EXP_NAME_LENGTH", "check_exp_name", "check_run_dir_is_free", "default_shorthand", "path_safe_name",
           "setup_logger_kwargs", "resume_experiment", "ALGORITHM_NAMES", "DIV_LINE_WIDTH", "MAX_PROCS_PER_CPU",
           "MPI_ALGORITHM_NAMES", "algorithm_is_implemented", "colorize", "default_data_dir", "load_algorithm",
           "resolve_num_cpu", "wait_before_launch"]

#: The settings above, and the module that reads them.
SETTINGS = {"DEFAULT_DATA_DIR": _run_files, "FORCE_DATESTAMP": _settings, "DEFAULT_SHORTHAND": _settings,
            "WAIT_BEFORE_LAUNCH": _settings}


class _PublicPath(types.ModuleType):
    """This module, with its settings read from, assigned to and deleted from where they are used."""

    def __getattr__(self, name):
        if name in SETTINGS:
            return getattr(SETTINGS[name], name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name in SETTINGS:
            setattr(SETTINGS[name], name, value)
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name):
        if name in SETTINGS:
            # Back to the default; deleting a setting that was never assigned changes nothing.
            vars(SETTINGS[name]).pop(name, None)
        else:
            super().__delattr__(name)


sys.modules[__name__].__class__ = _PublicPath
