"""DDPG, TD3 and SAC: learning, the terminated/truncated distinction, seeding, resume, Q freezing.

All runs use one torch thread: these networks are small, and with two threads on a busy
two-core machine every gradient step is many times slower.
"""
import math

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch
from gymnasium.spaces import Box
from gymnasium.wrappers import TimeLimit

from spinup_lib import core, mpi
from spinup_lib.algos import ddpg as ddpg_module
from spinup_lib.algos import sac as sac_module
from spinup_lib.algos import td3 as td3_module
from spinup_lib.envs import make_env_fn
from spinup_lib.errors import UserError
from spinup_lib.run_utils import resume_experiment

ALGOS = {"ddpg": ddpg_module.ddpg, "td3": td3_module.td3, "sac": sac_module.sac}
ACTOR_CRITICS = {"ddpg": core.DDPGActorCritic, "td3": core.TD3ActorCritic, "sac": core.SACActorCritic}

# A run small enough for a few seconds: episodes of Pendulum (200 steps) cross epoch ends.
TINY = dict(ac_kwargs=dict(hidden_sizes=(32, 32)), steps_per_epoch=250, start_steps=100,
            update_after=100, update_every=50, batch_size=32, num_test_episodes=1)


@pytest.fixture(autouse=True)
def one_torch_thread_and_tmp_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINUP_DATA_DIR", str(tmp_path / "data"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def progress_without_time(run_dir):
    """progress.txt as rows of strings, the Time column left out (the only one that may differ)."""
    lines = (run_dir / "progress.txt").read_text().splitlines()
    header = lines[0].split("\t")
    keep = [i for i, key in enumerate(header) if key != "Time"]
    return [[line.split("\t")[i] for i in keep] for line in lines]


# ----------------------------------------------------------------------------------------------
# Small environments whose episodes end in known ways
# ----------------------------------------------------------------------------------------------
class AlternatingEndsEnv(gym.Env):
    """Observation [steps taken, episode number]. Even-numbered episodes terminate at step 3;
    odd-numbered ones never terminate (a TimeLimit or max_ep_len must cut them)."""

    TERMINAL_STEP = 3

    def __init__(self):
        self.observation_space = Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = Box(-1.0, 1.0, (1,), np.float32)
        self.episode, self.steps = -1, 0

    def _obs(self):
        return np.array([self.steps, self.episode], dtype=np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.episode, self.steps = self.episode + 1, 0
        return self._obs(), {}

    def step(self, action):
        self.steps += 1
        terminated = self.episode % 2 == 0 and self.steps == self.TERMINAL_STEP
        return self._obs(), -float(np.square(action).sum()), terminated, False, {}


class ConstantObservationEnv(gym.Env):
    """Always the same observation, so a deterministic policy always picks the same action;
    actions in the asymmetric box [0, 10] (center 5, half-width 5)."""

    def __init__(self):
        self.observation_space = Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = Box(0.0, 10.0, (1,), np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, dtype=np.float32), {}

    def step(self, action):
        return np.zeros(2, dtype=np.float32), 0.0, False, False, {}


@pytest.fixture
def stored_transitions(monkeypatch):
    """Every (obs, act, rew, next_obs, done) the algorithms put in their replay buffer."""
    stored = []

    class RecordingReplayBuffer(core.ReplayBuffer):
        def store(self, obs, act, rew, next_obs, done):
            stored.append((np.array(obs), np.array(act), float(rew), np.array(next_obs), float(done)))
            super().store(obs, act, rew, next_obs, done)

    monkeypatch.setattr(core, "ReplayBuffer", RecordingReplayBuffer)
    return stored


# ----------------------------------------------------------------------------------------------
# Learning
# ----------------------------------------------------------------------------------------------
# Pendulum-v1: a random or untrained policy scores about -1200 to -1700 per episode, a
# swinging-up one about -120 to -250. Epochs of 1000 steps, seed 0; the budgets were checked
# with seeds 0, 1 and 2, where the last two epochs' best AverageTestEpRet was always above
# -250 (seed 0, one thread: about 13 s CPU for TD3, 14 s DDPG, 24 s SAC).
LEARNING_EPOCHS = {"ddpg": 5, "td3": 6, "sac": 5}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ddpg", "td3", "sac"])
def test_learns_pendulum(name, tmp_path):
    run_dir = tmp_path / name
    ALGOS[name](make_env_fn("Pendulum-v1"), ac_kwargs=dict(hidden_sizes=(64, 64)), seed=0,
                steps_per_epoch=1000, epochs=LEARNING_EPOCHS[name], start_steps=1000,
                update_after=500, num_test_episodes=5, logger_kwargs=dict(output_dir=str(run_dir)))
    test_returns = pd.read_csv(run_dir / "progress.txt", sep="\t")["AverageTestEpRet"]
    assert test_returns.iloc[0] < -900, "the untrained policy should do badly"
    assert test_returns.iloc[-2:].max() > -400, f"{name} did not learn: {test_returns.round().tolist()}"


# ----------------------------------------------------------------------------------------------
# Done flags: terminated, never truncated
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ddpg", "td3", "sac"])
@pytest.mark.parametrize("max_ep_len, cut_at", [(1000, 5), (4, 4)])
def test_done_flag_is_terminated_only(name, max_ep_len, cut_at, stored_transitions, tmp_path):
    # Episodes alternate: terminated at step 3, then cut at cut_at by the TimeLimit (5) or
    # by max_ep_len (4). Only the termination may store done = 1.
    ALGOS[name](lambda: TimeLimit(AlternatingEndsEnv(), max_episode_steps=5),
                ac_kwargs=dict(hidden_sizes=(8,)), steps_per_epoch=40, epochs=1, start_steps=20,
                update_after=1000, num_test_episodes=1, max_ep_len=max_ep_len,
                logger_kwargs=dict(output_dir=str(tmp_path / "run")))

    assert len(stored_transitions) == 40
    ends = {"terminated": 0, "cut": 0}
    for obs, _, _, next_obs, done in stored_transitions:
        steps, episode = next_obs
        if episode % 2 == 0 and steps == AlternatingEndsEnv.TERMINAL_STEP:
            assert done == 1.0
            ends["terminated"] += 1
        else:
            assert done == 0.0, f"done stored at step {steps:.0f} of a non-terminating episode"
            ends["cut"] += steps == cut_at
        # The next observation stored is the real one, not the first of the next episode,
        # and each transition continues from the previous one's episode.
        assert (next_obs[0], next_obs[1]) == (obs[0] + 1, obs[1])
    assert ends["terminated"] >= 3 and ends["cut"] >= 3
    # After a cut, the episode really ended: the next transition starts a new one at step 0.
    for (_, _, _, next_obs, _), (obs, _, _, _, _) in zip(stored_transitions, stored_transitions[1:]):
        if next_obs[1] % 2 == 1 and next_obs[0] == cut_at:
            assert tuple(obs) == (0.0, next_obs[1] + 1)


# ----------------------------------------------------------------------------------------------
# Exploration noise
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ddpg", "td3"])
def test_exploration_noise_is_scaled_to_the_action_box_and_clipped(name, stored_transitions, tmp_path):
    # A constant observation and no updates: the policy's action is fixed, so the spread of
    # the stored actions is the noise alone, act_noise times the half-width (5), not act_noise.
    common = dict(ac_kwargs=dict(hidden_sizes=(8,)), steps_per_epoch=2000, epochs=1, start_steps=0,
                  update_after=10**6, num_test_episodes=1, max_ep_len=100)
    ALGOS[name](ConstantObservationEnv, act_noise=0.1, logger_kwargs=dict(output_dir=str(tmp_path / "a")),
                **common)
    actions = np.array([act for _, act, _, _, _ in stored_transitions]).ravel()
    assert 0.45 < actions.std() < 0.55

    # Noise wider than the box: every action is clipped into [0, 10].
    stored_transitions.clear()
    ALGOS[name](ConstantObservationEnv, act_noise=2.0, logger_kwargs=dict(output_dir=str(tmp_path / "b")),
                **common)
    actions = np.array([act for _, act, _, _, _ in stored_transitions]).ravel()
    assert actions.min() == 0.0 and actions.max() == 10.0


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ddpg", "td3", "sac"])
def test_discrete_actions_are_refused(name, tmp_path):
    with pytest.raises(UserError, match="continuous"):
        ALGOS[name](make_env_fn("CartPole-v1"), logger_kwargs=dict(output_dir=str(tmp_path / "run")))


@pytest.mark.parametrize("module", [ddpg_module, td3_module, sac_module], ids=["ddpg", "td3", "sac"])
def test_more_than_one_process_is_refused_before_anything_is_written(module, tmp_path, monkeypatch):
    monkeypatch.setattr(mpi, "num_procs", lambda: 2)
    algo = getattr(module, module.__name__.rsplit(".", 1)[1])
    with pytest.raises(UserError, match="--cpu 1"):
        algo(make_env_fn("Pendulum-v1"), logger_kwargs=dict(output_dir=str(tmp_path / "run")))
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------------------------
# Freezing Q during the policy step
# ----------------------------------------------------------------------------------------------
def recording_q_calls(actor_critic):
    """A subclass of ``actor_critic`` that notes, each time a Q function is evaluated at an action
    that carries a gradient (that is, at pi(s), in the policy step), whether all its parameters
    were frozen (requires_grad False)."""

    class RecordingActorCritic(actor_critic):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.frozen_at_policy_step = []
            for name in ("q", "q1", "q2"):
                if hasattr(self, name):
                    getattr(self, name).register_forward_pre_hook(self._record)

        def _record(self, q_module, inputs):
            _, act = inputs
            if act.requires_grad:
                self.frozen_at_policy_step.append(not any(p.requires_grad for p in q_module.parameters()))

    return RecordingActorCritic


@pytest.mark.parametrize("name", ["ddpg", "td3", "sac"])
def test_q_functions_are_frozen_during_every_policy_step(name, tmp_path):
    steps, update_after, update_every = 200, 50, 25
    ac = ALGOS[name](make_env_fn("Pendulum-v1"), actor_critic=recording_q_calls(ACTOR_CRITICS[name]),
                     ac_kwargs=dict(hidden_sizes=(8, 8)), steps_per_epoch=steps, epochs=1,
                     start_steps=50, update_after=update_after, update_every=update_every,
                     batch_size=16, num_test_episodes=1, logger_kwargs=dict(output_dir=str(tmp_path / "run")))

    num_updates = update_every * len(range(update_after, steps, update_every))
    # Q evaluations at pi(s) per update: DDPG Q once; TD3 Q1 only, every policy_delay (2)
    # updates; SAC both Q1 and Q2.
    expected_calls = {"ddpg": num_updates, "td3": num_updates // 2, "sac": 2 * num_updates}[name]
    assert len(ac.frozen_at_policy_step) == expected_calls
    assert all(ac.frozen_at_policy_step), "a Q function had trainable parameters during a policy step"
    # ... and unfrozen again afterwards, so the next Q step trains them.
    q_modules = [getattr(ac, n) for n in ("q", "q1", "q2") if hasattr(ac, n)]
    assert all(p.requires_grad for q in q_modules for p in q.parameters())


def test_ddpg_with_pi_lr_0_keeps_its_policy_and_evaluates_it(tmp_path):
    # The control of the DDPG chapter: the critic learns as in any DDPG run, the policy never moves.
    env_fn = make_env_fn("Pendulum-v1")
    probe = env_fn()
    ac = ddpg_module.ddpg(env_fn, seed=4, pi_lr=0, ac_kwargs=dict(hidden_sizes=(8, 8)), steps_per_epoch=300,
                          epochs=1, start_steps=100, update_after=100, update_every=50, batch_size=16,
                          num_test_episodes=1, logger_kwargs=dict(output_dir=str(tmp_path / "run")))
    torch.manual_seed(4)  # what ddpg built before training
    start = core.DDPGActorCritic(probe.observation_space, probe.action_space, hidden_sizes=(8, 8))
    assert all(torch.equal(ac.pi.state_dict()[k], v) for k, v in start.pi.state_dict().items())
    assert not all(torch.equal(ac.q.state_dict()[k], v) for k, v in start.q.state_dict().items())
    with pytest.raises(UserError, match="pi_lr must be a number > 0"):  # only DDPG has a use for it
        td3_module.td3(env_fn, pi_lr=0)


# ----------------------------------------------------------------------------------------------
# Determinism and resume
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["ddpg", "td3", "sac"])
def test_same_seed_gives_the_same_progress(name, tmp_path):
    for run in ("first", "second"):
        ALGOS[name](make_env_fn("Pendulum-v1"), seed=3, epochs=2,
                    logger_kwargs=dict(output_dir=str(tmp_path / run)), **TINY)
    first, second = progress_without_time(tmp_path / "first"), progress_without_time(tmp_path / "second")
    assert len(first) == 3
    assert first == second


@pytest.mark.slow
@pytest.mark.parametrize("name, env_id", [("ddpg", "Pendulum-v1"), ("td3", "InvertedPendulum-v5"),
                                          ("sac", "Pendulum-v1")])
def test_resume_continues_exactly(name, env_id, tmp_path):
    # 250-step epochs: a Pendulum episode (200 steps) is cut mid-way by the checkpoint, so the
    # episode in progress, both envs, the buffer, the networks and the RNGs must all come back.
    ALGOS[name](make_env_fn(env_id), seed=1, epochs=3,
                logger_kwargs=dict(output_dir=str(tmp_path / "in_one_go")), **TINY)
    ALGOS[name](make_env_fn(env_id), seed=1, epochs=2,
                logger_kwargs=dict(output_dir=str(tmp_path / "resumed")), **TINY)
    # Steps are counted across epochs: epochs of another length are refused, and nothing changes.
    before = (tmp_path / "resumed" / "progress.txt").read_text()
    with pytest.raises(UserError, match="stopped at step 500, not at the end of epoch 1 of 200 steps"):
        resume_experiment(str(tmp_path / "resumed"), epochs=3, steps_per_epoch=200)
    assert (tmp_path / "resumed" / "progress.txt").read_text() == before
    resume_experiment(str(tmp_path / "resumed"), epochs=3)

    in_one_go = progress_without_time(tmp_path / "in_one_go")
    resumed = progress_without_time(tmp_path / "resumed")
    assert len(in_one_go) == 4
    assert resumed == in_one_go
    # The test returns are real numbers (episodes ended), so the comparison compared something.
    returns = pd.read_csv(tmp_path / "resumed" / "progress.txt", sep="\t")["AverageTestEpRet"]
    assert all(math.isfinite(x) for x in returns)
