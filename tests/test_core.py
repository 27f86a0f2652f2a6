"""Shared pieces of the algorithms: networks, distributions, buffers, env state."""
import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.spaces import Box, Discrete

from spinup_lib import core
from spinup_lib.env_state import get_env_state, set_env_state
from spinup_lib.errors import UserError


def test_discounted_cumsum_matches_definition():
    rng = np.random.default_rng(0)
    x = rng.normal(size=17)
    gamma = 0.9
    expected = [sum(gamma ** k * x[t + k] for k in range(len(x) - t)) for t in range(len(x))]
    np.testing.assert_allclose(core.discounted_cumsum(x, gamma), expected, rtol=1e-10)


def gae_by_hand(rews, vals, last_val, gamma, lam):
    rews, vals = np.append(rews, last_val), np.append(vals, last_val)
    adv, running = np.zeros(len(rews) - 1), 0.0
    for t in reversed(range(len(rews) - 1)):
        delta = rews[t] + gamma * vals[t + 1] - vals[t]
        running = delta + gamma * lam * running
        adv[t] = running
    rets = [sum(gamma ** k * rews[t + k] for k in range(len(rews) - t)) for t in range(len(rews) - 1)]
    return adv, np.array(rets)


def test_on_policy_buffer_gae_and_bootstrap():
    rng = np.random.default_rng(1)
    gamma, lam = 0.99, 0.95
    buf = core.OnPolicyBuffer(obs_dim=(3,), act_dim=(), size=10, gamma=gamma, lam=lam)
    rews, vals = rng.normal(size=10), rng.normal(size=10)
    for t in range(10):
        buf.store(rng.normal(size=3), 0, rews[t], vals[t], -0.5)
        if t == 5:
            buf.finish_path(0.0)  # a terminated episode: no bootstrap
    buf.finish_path(7.0)  # a truncated one: bootstrap from V(s_T) = 7
    adv1, ret1 = gae_by_hand(rews[:6], vals[:6], 0.0, gamma, lam)
    adv2, ret2 = gae_by_hand(rews[6:], vals[6:], 7.0, gamma, lam)
    raw_adv = np.concatenate([adv1, adv2])
    np.testing.assert_allclose(buf.ret_buf, np.concatenate([ret1, ret2]), rtol=1e-5)
    data = buf.get()
    normalised = (raw_adv - raw_adv.mean()) / (raw_adv.std() + 1e-8)
    np.testing.assert_allclose(data['adv'].numpy(), normalised, rtol=1e-4, atol=1e-5)
    assert buf.ptr == 0  # ready for the next epoch


def test_gaussian_actor_log_prob_is_sum_over_dimensions():
    torch.manual_seed(0)
    actor = core.MLPGaussianActor(4, 3, (16,), torch.nn.Tanh)
    obs, act = torch.randn(8, 4), torch.randn(8, 3)
    pi, logp = actor(obs, act)
    mu, std = actor.mu_net(obs), torch.exp(actor.log_std)
    by_hand = (-0.5 * ((act - mu) / std) ** 2 - torch.log(std) - 0.5 * np.log(2 * np.pi)).sum(-1)
    assert logp.shape == (8,)
    torch.testing.assert_close(logp, by_hand)
    assert torch.allclose(actor.log_std, torch.full((3,), -0.5))


@pytest.mark.parametrize("actor_class", [core.MLPGaussianActor, core.MLPCategoricalActor])
@pytest.mark.parametrize("obs_shape", [(4,), (8, 4)])
def test_acting_sample_is_the_distributions_own(actor_class, obs_shape):
    # The Gaussian actor's acting path writes the sample and log-likelihood out; it must give the
    # very numbers (bit for bit, same random draws) of distribution(obs).sample() and its log_prob.
    torch.manual_seed(0)
    actor = actor_class(4, 3, (16,), torch.nn.Tanh)
    obs = torch.randn(*obs_shape)
    torch.manual_seed(1)
    with torch.inference_mode():
        a, logp = actor.sample_action(obs)
    torch.manual_seed(1)
    with torch.inference_mode():
        pi = actor.distribution(obs)
        a_ref = pi.sample()
        logp_ref = actor.log_prob_from_distribution(pi, a_ref)
    assert torch.equal(a, a_ref) and torch.equal(logp, logp_ref)
    assert logp.shape == obs_shape[:-1]


@pytest.mark.parametrize("space", [Discrete(3), Box(-1, 1, (2,))])
def test_mlp_actor_critic_shapes_and_act(space):
    obs_space = Box(-np.inf, np.inf, (5,))
    ac = core.MLPActorCritic(obs_space, space)
    a, v, logp = ac.step(torch.zeros(5))
    assert v.shape == () and logp.shape == ()
    if isinstance(space, Discrete):
        assert space.contains(np.asarray(a, dtype=space.dtype))
    else:  # Gaussian samples are unbounded; MuJoCo clips controls to their range itself
        assert a.shape == space.shape
    a_det1, a_det2 = ac.act(np.ones(5), deterministic=True), ac.act(np.ones(5), deterministic=True)
    np.testing.assert_array_equal(a_det1, a_det2)


def test_q_function_returns_batch_shape():
    q = core.MLPQFunction(3, 2, (8,), torch.nn.ReLU)
    assert q(torch.zeros(5, 3), torch.zeros(5, 2)).shape == (5,)


def test_squashed_gaussian_log_prob_matches_change_of_variables():
    torch.manual_seed(0)
    low, high = np.array([-2.0, -0.5], np.float32), np.array([2.0, 1.5], np.float32)
    actor = core.SquashedGaussianMLPActor(3, 2, (16,), torch.nn.ReLU, low, high)
    obs = torch.randn(64, 3)
    torch.manual_seed(1)
    a, logp = actor(obs)
    # recompute from the same sample: u = atanh of the [-1, 1] action
    torch.manual_seed(1)
    net_out = actor.net(obs)
    mu, log_std = actor.mu_layer(net_out), actor.log_std_layer(net_out).clamp(-20, 2)
    u = mu + torch.exp(log_std) * torch.randn_like(mu)
    scale = torch.as_tensor((high - low) / 2)
    expected = (torch.distributions.Normal(mu, torch.exp(log_std)).log_prob(u)
                - torch.log(1 - torch.tanh(u) ** 2 + 1e-12) - torch.log(scale)).sum(-1)
    torch.testing.assert_close(logp, expected, rtol=1e-3, atol=1e-3)
    assert torch.all(a >= torch.as_tensor(low)) and torch.all(a <= torch.as_tensor(high))


def test_off_policy_actor_critics_refuse_discrete_actions():
    for cls in (core.DDPGActorCritic, core.TD3ActorCritic, core.SACActorCritic):
        with pytest.raises(UserError, match="continuous"):
            cls(Box(-1, 1, (3,)), Discrete(2))


def test_replay_buffer_fifo_sampling():
    buf = core.ReplayBuffer(obs_dim=2, act_dim=1, size=5, seed=0)
    for i in range(7):  # wraps around: the two oldest are overwritten
        buf.store([i, i], [i], float(i), [i + 1, i + 1], i % 2)
    assert buf.size == 5 and buf.ptr == 2
    assert sorted(buf.rew_buf.tolist()) == [2, 3, 4, 5, 6]
    batch = buf.sample_batch(32)
    assert set(batch) == {'obs', 'obs2', 'act', 'rew', 'done'}
    assert batch['obs'].shape == (32, 2) and batch['rew'].shape == (32,)
    torch.testing.assert_close(batch['obs2'][:, 0], batch['obs'][:, 0] + 1)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1", "InvertedPendulum-v5"])
def test_env_state_round_trip_continues_identically(env_id):
    env = gym.make(env_id)
    env.reset(seed=3)
    env.action_space.seed(3)
    for _ in range(5):
        env.step(env.action_space.sample())
    clone = gym.make(env_id)
    clone.reset(seed=99)
    set_env_state(clone, get_env_state(env))
    for _ in range(200):
        a1, a2 = env.action_space.sample(), clone.action_space.sample()
        s1, s2 = env.step(a1), clone.step(a2)
        np.testing.assert_array_equal(s1[0], s2[0])
        assert s1[1:4] == s2[1:4]
        if s1[2] or s1[3]:
            np.testing.assert_array_equal(env.reset()[0], clone.reset()[0])
    env.close()
    clone.close()


def test_building_mujoco_envs_leaves_no_log_file(tmp_path, monkeypatch):
    import spinup_lib  # noqa: F401  (routes MuJoCo's warnings on import)

    monkeypatch.chdir(tmp_path)
    gym.make('HalfCheetah-v5').close()  # its model triggers MuJoCo 4's 'settotalmass' warning
    assert not (tmp_path / 'MUJOCO_LOG.TXT').exists()


def test_saved_env_spec_rebuilds_the_time_limit():
    from spinup_lib.envs import env_spec_json, make_env_from_spec_json

    env = make_env_from_spec_json(env_spec_json(gym.make('Pendulum-v1')))
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps, done = steps + 1, terminated or truncated
    assert steps == 200  # Pendulum-v1's time limit survived the round trip
