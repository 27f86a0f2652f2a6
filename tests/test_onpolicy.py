"""VPG, TRPO (and NPG) and PPO: learning, gymnasium's terminated/truncated, determinism, resume."""
import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from gymnasium.envs.registration import register

from spinup_lib import core, ppo, trpo, vpg
from spinup_lib.envs import make_env_fn
from spinup_lib.errors import UserError


def progress(run_dir):
    return pd.read_csv(run_dir / 'progress.txt', sep='\t')


# --------------------------------------------------------------------------------------------
# Learning: a return threshold reached within a small budget (random play on CartPole: ~22)
# --------------------------------------------------------------------------------------------
SMALL = dict(hidden_sizes=(32,))
LEARNING_CASES = {
    'vpg': (vpg, dict(pi_lr=3e-2, steps_per_epoch=2000, epochs=15, ac_kwargs=SMALL), 100),
    'ppo': (ppo, dict(steps_per_epoch=2000, epochs=12), 200),  # default (64, 64) network
    'trpo': (trpo, dict(delta=0.02, steps_per_epoch=2000, epochs=12, ac_kwargs=SMALL), 150),
    'npg': (trpo, dict(algo='npg', delta=0.02, steps_per_epoch=2000, epochs=12, ac_kwargs=SMALL), 150),
}


@pytest.mark.slow
@pytest.mark.parametrize('name', LEARNING_CASES)
def test_learns_cartpole(name, tmp_path):
    algo, kwargs, threshold = LEARNING_CASES[name]
    algo(make_env_fn('CartPole-v1'), seed=0, logger_kwargs=dict(output_dir=str(tmp_path)), **kwargs)
    returns = progress(tmp_path)['AverageEpRet']
    assert returns.iloc[0] < 50, 'the first epoch should look like random play'
    assert progress(tmp_path)['KL'].abs().max() > 1e-6, 'the policy must move at each update'
    best_recent = returns.iloc[-3:].max()
    assert best_recent > threshold, f'{name} reached only {best_recent:.0f} (threshold {threshold}): {list(returns.round())}'


# --------------------------------------------------------------------------------------------
# terminated vs truncated: bootstrap from V(s_T) only when the episode was cut
# --------------------------------------------------------------------------------------------
class FiveStepEnv(gym.Env):
    """Five steps of reward 1; then terminated (terminates=True) or left to a time limit."""

    def __init__(self, terminates=True):
        self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.terminates, self.t = terminates, 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        obs = np.full(2, self.t / 10, np.float32)
        return obs, 1.0, self.terminates and self.t == 5, False, {}


register(id='FiveStepTerminates-v0', entry_point=FiveStepEnv, kwargs=dict(terminates=True))
register(id='FiveStepTruncated-v0', entry_point=FiveStepEnv, kwargs=dict(terminates=False), max_episode_steps=5)


@pytest.mark.parametrize('algo', [vpg, ppo, trpo])
@pytest.mark.parametrize('env_id, bootstraps', [('FiveStepTerminates-v0', False), ('FiveStepTruncated-v0', True)])
def test_bootstrap_only_on_truncation(algo, env_id, bootstraps, tmp_path, monkeypatch):
    last_vals = []
    original = core.OnPolicyBuffer.finish_path

    def recording_finish_path(self, last_val=0.0):
        last_vals.append(float(last_val))
        return original(self, last_val)

    monkeypatch.setattr(core.OnPolicyBuffer, 'finish_path', recording_finish_path)
    # 20 steps per epoch = exactly 4 episodes: no cut at the epoch's end muddles the picture
    algo(make_env_fn(env_id), steps_per_epoch=20, epochs=1, logger_kwargs=dict(output_dir=str(tmp_path)))
    assert len(last_vals) == 4
    if bootstraps:
        assert all(v != 0.0 for v in last_vals), last_vals
    else:
        assert all(v == 0.0 for v in last_vals), last_vals
    assert progress(tmp_path)['EpLen'].iloc[0] == 5


def test_epoch_end_cuts_are_bootstrapped_and_not_counted_as_episodes(tmp_path, monkeypatch):
    last_vals = []
    original = core.OnPolicyBuffer.finish_path
    monkeypatch.setattr(core.OnPolicyBuffer, 'finish_path',
                        lambda self, last_val=0.0: (last_vals.append(float(last_val)), original(self, last_val)))
    vpg(make_env_fn('FiveStepTerminates-v0'), steps_per_epoch=12, epochs=1,
        logger_kwargs=dict(output_dir=str(tmp_path)))
    assert last_vals[:2] == [0.0, 0.0] and last_vals[2] != 0.0  # 5 + 5 terminated, then 2 cut
    assert progress(tmp_path)['EpLen'].iloc[0] == 5  # the cut path is not an episode


def test_trpo_rejects_unknown_variant(tmp_path):
    with pytest.raises(UserError, match="'trpo' or 'npg'"):
        trpo(make_env_fn('CartPole-v1'), algo='ppo', logger_kwargs=dict(output_dir=str(tmp_path)))


# --------------------------------------------------------------------------------------------
# Determinism and exact resume (one process)
# --------------------------------------------------------------------------------------------
def without_time(df):
    return df.drop(columns=[c for c in df.columns if c == 'Time'])


@pytest.mark.parametrize('algo', [ppo, trpo])
def test_same_seed_same_progress(algo, tmp_path):
    for name in ('a', 'b'):
        algo(make_env_fn('Pendulum-v1'), seed=3, steps_per_epoch=300, epochs=2, max_ep_len=120,
             ac_kwargs=dict(hidden_sizes=(16,)), logger_kwargs=dict(output_dir=str(tmp_path / name)))
    pd.testing.assert_frame_equal(without_time(progress(tmp_path / 'a')), without_time(progress(tmp_path / 'b')))


@pytest.mark.parametrize('algo', [ppo, trpo, vpg])
def test_resume_continues_exactly(algo, tmp_path):
    from spinup_lib.run_utils import resume_experiment

    # max_ep_len 120 with 300 steps per epoch: episodes are cut mid-way by the epoch's end
    kwargs = dict(seed=1, steps_per_epoch=300, max_ep_len=120, ac_kwargs=dict(hidden_sizes=(16,)), save_freq=1)
    algo(make_env_fn('Pendulum-v1'), epochs=4, logger_kwargs=dict(output_dir=str(tmp_path / 'straight')), **kwargs)
    algo(make_env_fn('Pendulum-v1'), epochs=2, logger_kwargs=dict(output_dir=str(tmp_path / 'resumed')), **kwargs)
    resume_experiment(str(tmp_path / 'resumed'), epochs=4)

    straight, resumed = progress(tmp_path / 'straight'), progress(tmp_path / 'resumed')
    assert list(resumed['Epoch']) == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(without_time(straight), without_time(resumed))
