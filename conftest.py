"""Repository-wide pytest set-up (also applies to the course notebooks run by nbval).

Tests and notebooks run at the small training budget unless SPINUP_BUDGET says otherwise:
the kernels nbval starts inherit this process's environment.
"""
import os

os.environ.setdefault("SPINUP_BUDGET", "small")
