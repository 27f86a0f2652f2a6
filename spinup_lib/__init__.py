"""Spinning Up, rebuilt: the shared library of the course.

``from spinup_lib import vpg, trpo, ppo, ddpg, td3, sac`` gives the six algorithms;
they are imported on first use so that ``import spinup_lib`` stays fast.
"""
import importlib

from spinup_lib.envs import prepare_rendering_on_first_import

# Nothing platform-specific happens here: the renderer is chosen when MuJoCo is first imported.
prepare_rendering_on_first_import()

ALGORITHMS = ("vpg", "trpo", "ppo", "ddpg", "td3", "sac")

__all__ = [*ALGORITHMS, "resume"]


def resume(run_dir, epochs=None, **arguments):
    """Continue a saved run exactly where its last checkpoint left it (up to ``epochs`` in all).

    The same as ``python -m spinup_lib.run resume RUN_DIR --epochs N``. ``arguments`` supply
    what a checkpoint cannot keep, e.g. ``actor_critic=MyActorCritic`` for a class of your own
    (see :func:`spinup_lib.run_utils.resume_experiment`).
    """
    from spinup_lib.experiments.resume import resume_experiment

    return resume_experiment(run_dir, epochs=epochs, **arguments)


def __getattr__(name):
    if name in ALGORITHMS:
        module = importlib.import_module(f"spinup_lib.algos.{name}")
        return getattr(module, name)
    raise AttributeError(f"module 'spinup_lib' has no attribute {name!r}")
