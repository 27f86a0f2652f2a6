"""Spinning Up, rebuilt: the shared library of the course.

``from spinup_lib import vpg, trpo, ppo, ddpg, td3, sac`` gives the six algorithms;
they are imported on first use so that ``import spinup_lib`` stays fast.
"""
import importlib

from spinup_lib.envs import configure_headless_rendering

configure_headless_rendering()

ALGORITHMS = ("vpg", "trpo", "ppo", "ddpg", "td3", "sac")

__all__ = list(ALGORITHMS)


def __getattr__(name):
    if name in ALGORITHMS:
        module = importlib.import_module(f"spinup_lib.algos.{name}")
        return getattr(module, name)
    raise AttributeError(f"module 'spinup_lib' has no attribute {name!r}")
