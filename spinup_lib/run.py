"""The command line: ``python -m spinup_lib.run`` (or ``spinup``).

::

    python -m spinup_lib.run ALGO --env ENV_ID [--flag VALUE [VALUE ...]] ...
    python -m spinup_lib.run plot LOGDIR [LOGDIR ...] [options]
    python -m spinup_lib.run test_policy RUN_DIR [options]
    python -m spinup_lib.run resume RUN_DIR [--epochs N]

The public path of :mod:`spinup_lib.experiments.cli`, where the code is (and its docs).
"""
import sys

from spinup_lib.experiments.cli import build_grid, dispatch, main, parse_flags, usage

__all__ = ["build_grid", "dispatch", "main", "parse_flags", "usage"]

if __name__ == "__main__":
    sys.exit(main())
