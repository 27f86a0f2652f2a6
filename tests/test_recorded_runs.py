"""The same seed gives the same numbers as the recorded runs: a change that means to leave the
algorithms' numbers alone (a refactor, a new logger) is checked against runs recorded before it.

Each algorithm trains 2 small epochs on a cheap env (classic control or a small MuJoCo task; the
off-policy ones start updating early), through the logger and checkpoints like any run, and its
progress.txt without the Time column must match ``tests/data/recorded_runs/<algo>.tsv`` (rtol 1e-6,
and atol 1e-7 for values such as a loss of 1e-8 that are float32 rounding around zero). About a
second or two per algorithm on a quiet core.

A change that is *meant* to change the numbers (another rounding, a fixed bug) records them again,
deliberately, and says so in its commit::

    PYTHONPATH=. python tests/test_recorded_runs.py            # every algorithm
    PYTHONPATH=. python tests/test_recorded_runs.py sac td3    # some of them
"""
import os
import sys
import tempfile

import numpy as np
import pandas as pd
import pytest

from spinup_lib.envs import make_env_fn

RECORDINGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "recorded_runs")

ON_POLICY = dict(seed=0, steps_per_epoch=400, epochs=2, ac_kwargs=dict(hidden_sizes=(16,)), train_v_iters=5)
OFF_POLICY = dict(seed=0, steps_per_epoch=200, epochs=2, replay_size=1000, batch_size=32, start_steps=100,
                  update_after=100, update_every=50, num_test_episodes=2, max_ep_len=100,
                  ac_kwargs=dict(hidden_sizes=(16, 16)))

#: algorithm -> (env id, keyword arguments)
RUNS = {
    "vpg": ("CartPole-v1", dict(ON_POLICY, max_ep_len=100)),
    "trpo": ("Pendulum-v1", dict(ON_POLICY, max_ep_len=150)),
    "ppo": ("InvertedPendulum-v5", dict(ON_POLICY, train_pi_iters=5)),
    "ddpg": ("Pendulum-v1", OFF_POLICY),
    "td3": ("InvertedPendulum-v5", OFF_POLICY),
    "sac": ("Pendulum-v1", OFF_POLICY),
}


def run(algo_name, output_dir):
    """Train ``algo_name`` as recorded; return its progress.txt without the Time column."""
    import spinup_lib

    env_id, kwargs = RUNS[algo_name]
    getattr(spinup_lib, algo_name)(make_env_fn(env_id), logger_kwargs=dict(output_dir=str(output_dir)), **kwargs)
    return pd.read_csv(os.path.join(output_dir, "progress.txt"), sep="\t").drop(columns="Time")


def recording_path(algo_name):
    return os.path.join(RECORDINGS, f"{algo_name}.tsv")


@pytest.mark.parametrize("algo_name", list(RUNS))
def test_the_same_seed_gives_the_recorded_numbers(algo_name, tmp_path):
    recorded = pd.read_csv(recording_path(algo_name), sep="\t")
    now = run(algo_name, tmp_path / "run")
    assert list(now.columns) == list(recorded.columns)
    np.testing.assert_allclose(now.to_numpy(dtype=float), recorded.to_numpy(dtype=float), rtol=1e-6, atol=1e-7,
                               err_msg=f"{algo_name} no longer gives the recorded numbers (see this file's docstring)")


if __name__ == "__main__":
    for name in sys.argv[1:] or list(RUNS):
        with tempfile.TemporaryDirectory() as folder:
            table = run(name, os.path.join(folder, "run"))
        os.makedirs(RECORDINGS, exist_ok=True)
        table.to_csv(recording_path(name), sep="\t", index=False, float_format="%.17g")
        print(f"recorded {recording_path(name)}")
