"""What the six algorithms share: networks, actor-critics and experience buffers.

On-policy (VPG, TRPO, PPO): :class:`MLPActorCritic` (a stochastic actor and a value function)
and :class:`OnPolicyBuffer`, which turns an epoch of experience into GAE-lambda advantages.
Off-policy (DDPG, TD3, SAC): :class:`DDPGActorCritic`, :class:`TD3ActorCritic`,
:class:`SACActorCritic` and the :class:`ReplayBuffer`.

Every actor-critic is built as ``ActorCritic(observation_space, action_space, **ac_kwargs)``
and has ``act(obs, deterministic=False)`` for one observation, which replay and video use.
"""
import math

import numpy as np
import scipy.signal
import torch
import torch.nn as nn
import torch.nn.functional as F
from gymnasium.spaces import Box, Discrete
from torch.distributions import Categorical, Independent, Normal

from spinup_lib.errors import UserError
from spinup_lib.mpi import mpi_statistics_scalar


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------
def combined_shape(length, shape=None):
    """Shape of a buffer of ``length`` items each of shape ``shape`` (scalar when None)."""
    if shape is None:
        return (length,)
    return (length, shape) if np.isscalar(shape) else (length, *shape)


def count_vars(module):
    """Number of trainable numbers in a module."""
    return sum(p.numel() for p in module.parameters())


def discounted_cumsum(x, discount):
    """Discounted cumulative sums: y[t] = x[t] + discount * x[t+1] + discount^2 * x[t+2] + ...

    Runs the recursion y[t] = x[t] + discount * y[t+1] backwards in time as a linear filter.
    """
    return scipy.signal.lfilter([1], [1, float(-discount)], x[::-1], axis=0)[::-1]


def mlp(sizes, activation, output_activation=nn.Identity):
    """A multi-layer perceptron: Linear layers of the given sizes, ``activation`` between them."""
    layers = []
    for j in range(len(sizes) - 1):
        act = activation if j < len(sizes) - 2 else output_activation
        layers += [nn.Linear(sizes[j], sizes[j + 1]), act()]
    return nn.Sequential(*layers)


def observation_dim(observation_space):
    """Flat size of a Box observation space (the MLPs here read flat vectors)."""
    if not isinstance(observation_space, Box):
        raise UserError(
            f"observations must be a Box space, got {observation_space}: wrap the env, e.g. with "
            "gymnasium.wrappers.FlattenObservation or a one-hot observation wrapper")
    return int(np.prod(observation_space.shape))


def as_tensor(x):
    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


# ----------------------------------------------------------------------------------------------
# Stochastic actors and the value function (VPG, TRPO, PPO)
# ----------------------------------------------------------------------------------------------
class Actor(nn.Module):
    """A stochastic policy pi(a|s): a distribution over actions for each observation."""

    def distribution(self, obs):
        raise NotImplementedError

    def log_prob_from_distribution(self, pi, act):
        raise NotImplementedError

    def forward(self, obs, act=None):
        """Return pi(.|obs) and, when ``act`` is given, log pi(act|obs)."""
        pi = self.distribution(obs)
        logp_a = None if act is None else self.log_prob_from_distribution(pi, act)
        return pi, logp_a

    def sample_action(self, obs):
        """An action a ~ pi(.|obs) and log pi(a|obs), for acting (call it without gradients)."""
        pi = self.distribution(obs)
        a = pi.sample()
        return a, self.log_prob_from_distribution(pi, a)


class MLPCategoricalActor(Actor):
    """pi(a|s) = softmax(logits(s))[a] for a discrete action space."""

    def __init__(self, obs_dim, act_dim, hidden_sizes, activation):
        super().__init__()
        self.logits_net = mlp([obs_dim, *hidden_sizes, act_dim], activation)

    def distribution(self, obs):
        return Categorical(logits=self.logits_net(obs), validate_args=False)  # see MLPGaussianActor

    def log_prob_from_distribution(self, pi, act):
        return pi.log_prob(act)

    def mode(self, obs):
        return self.logits_net(obs).argmax(-1)


LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))


class MLPGaussianActor(Actor):
    """pi(a|s) = N(mu(s), diag(exp(log_std))^2), with log_std a free parameter (not a function of s).

    ``Independent`` makes the action vector one event: its log-likelihood, entropy and KL are
    sums over the action dimensions, one number per observation.

    ``validate_args=False``: torch.distributions otherwise checks every parameter and sample
    against its constraints, a dozen small tensor operations each time; acting builds a
    distribution at every env step, where those checks took about an eighth of the time.
    """

    def __init__(self, obs_dim, act_dim, hidden_sizes, activation):
        super().__init__()
        self.log_std = nn.Parameter(torch.full((act_dim,), -0.5))
        self.mu_net = mlp([obs_dim, *hidden_sizes, act_dim], activation)

    def distribution(self, obs):
        return Independent(Normal(self.mu_net(obs), torch.exp(self.log_std), validate_args=False), 1,
                           validate_args=False)

    def log_prob_from_distribution(self, pi, act):
        return pi.log_prob(act)

    def sample_action(self, obs):
        # Acting, one observation per env step, builds no distribution object: the sample and its
        # log-likelihood written out are the very numbers of Normal(mu, std).sample() and .log_prob
        # (the same operations in the same order), in a third fewer small tensor operations.
        mu, std = self.mu_net(obs), torch.exp(self.log_std)
        a = torch.normal(mu, std)
        logp_a = (-((a - mu) ** 2) / (2 * std ** 2) - std.log() - LOG_SQRT_2PI).sum(-1)
        return a, logp_a

    def mode(self, obs):
        return self.mu_net(obs)


class MLPCritic(nn.Module):
    """The on-policy value function V(s)."""

    def __init__(self, obs_dim, hidden_sizes, activation):
        super().__init__()
        self.v_net = mlp([obs_dim, *hidden_sizes, 1], activation)

    def forward(self, obs):
        return torch.squeeze(self.v_net(obs), -1)  # shape (batch,), not (batch, 1)


class MLPActorCritic(nn.Module):
    """Actor ``pi`` (categorical or diagonal Gaussian, from the action space) and critic ``v``."""

    def __init__(self, observation_space, action_space, hidden_sizes=(64, 64), activation=nn.Tanh):
        super().__init__()
        obs_dim = observation_dim(observation_space)
        if isinstance(action_space, Box):
            self.pi = MLPGaussianActor(obs_dim, action_space.shape[0], hidden_sizes, activation)
        elif isinstance(action_space, Discrete):
            self.pi = MLPCategoricalActor(obs_dim, int(action_space.n), hidden_sizes, activation)
        else:
            raise UserError(f"action space {action_space} is not supported: use Box or Discrete")
        self.v = MLPCritic(obs_dim, hidden_sizes, activation)

    def step(self, obs):
        """Sample an action; return it with V(s) and log pi(a|s), as numpy arrays."""
        # inference_mode: acting needs no gradients, and skips autograd's bookkeeping altogether
        # (cheaper than no_grad at one small forward pass per env step).
        with torch.inference_mode():
            a, logp_a = self.pi.sample_action(obs)
            v = self.v(obs)
        return a.numpy(), v.numpy(), logp_a.numpy()

    def act(self, obs, deterministic=False):
        """An action for ``obs``: a sample, or the most likely action when deterministic."""
        obs = as_tensor(obs)
        if deterministic:
            with torch.inference_mode():
                return self.pi.mode(obs).numpy()
        return self.step(obs)[0]


# ----------------------------------------------------------------------------------------------
# Q functions and actors for continuous control (DDPG, TD3, SAC)
# ----------------------------------------------------------------------------------------------
def continuous_action_bounds(action_space, algo):
    if not isinstance(action_space, Box):
        raise UserError(f"{algo} needs a continuous (Box) action space, got {action_space}: "
                        "use vpg, trpo or ppo for discrete actions")
    low, high = action_space.low.astype(np.float32), action_space.high.astype(np.float32)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise UserError(f"{algo} needs a bounded action space, got {action_space}")
    return low, high


class MLPQFunction(nn.Module):
    """Q(s, a): an MLP on the concatenated observation and action."""

    def __init__(self, obs_dim, act_dim, hidden_sizes, activation):
        super().__init__()
        self.q = mlp([obs_dim + act_dim, *hidden_sizes, 1], activation)

    def forward(self, obs, act):
        q = self.q(torch.cat([obs, act], dim=-1))
        return torch.squeeze(q, -1)  # one Q value per transition


class ActionScaling(nn.Module):
    """Maps tanh outputs in [-1, 1] onto the action box [low, high]."""

    def __init__(self, low, high):
        super().__init__()
        self.register_buffer("scale", torch.as_tensor((high - low) / 2.0))
        self.register_buffer("center", torch.as_tensor((high + low) / 2.0))

    def forward(self, squashed):
        return self.center + self.scale * squashed


class MLPDeterministicActor(nn.Module):
    """mu(s): a deterministic action, tanh-squashed into the action box."""

    def __init__(self, obs_dim, act_dim, hidden_sizes, activation, low, high):
        super().__init__()
        self.pi = mlp([obs_dim, *hidden_sizes, act_dim], activation, nn.Tanh)
        self.to_action_box = ActionScaling(low, high)

    def forward(self, obs):
        return self.to_action_box(self.pi(obs))


LOG_STD_MIN, LOG_STD_MAX = -20, 2


class SquashedGaussianMLPActor(nn.Module):
    """SAC's policy: a = tanh(u), u ~ N(mu(s), sigma(s)), both mean and log_std from the network."""

    def __init__(self, obs_dim, act_dim, hidden_sizes, activation, low, high):
        super().__init__()
        self.net = mlp([obs_dim, *hidden_sizes], activation, activation)
        self.mu_layer = nn.Linear(hidden_sizes[-1], act_dim)
        self.log_std_layer = nn.Linear(hidden_sizes[-1], act_dim)
        self.to_action_box = ActionScaling(low, high)

    def forward(self, obs, deterministic=False, with_logprob=True):
        """Return an action and its log-likelihood (None when ``with_logprob`` is False)."""
        net_out = self.net(obs)
        mu = self.mu_layer(net_out)
        log_std = torch.clamp(self.log_std_layer(net_out), LOG_STD_MIN, LOG_STD_MAX)
        pi_distribution = Normal(mu, torch.exp(log_std), validate_args=False)  # see MLPGaussianActor
        # rsample: the reparameterisation u = mu + sigma * eps lets gradients flow through u.
        u = mu if deterministic else pi_distribution.rsample()
        logp_pi = None
        if with_logprob:
            # log pi(a) = log N(u) - sum_i log(1 - tanh(u_i)^2), with the correction written in
            # the numerically stable form 2 * (log 2 - u - softplus(-2u)).
            logp_pi = pi_distribution.log_prob(u).sum(axis=-1)
            logp_pi -= (2 * (np.log(2) - u - F.softplus(-2 * u))).sum(axis=-1)
            # the affine map to [low, high] adds a constant: log|scale| per dimension
            logp_pi -= torch.log(self.to_action_box.scale).sum()
        return self.to_action_box(torch.tanh(u)), logp_pi


class DDPGActorCritic(nn.Module):
    """DDPG: a deterministic actor ``pi`` and one Q function ``q``."""

    def __init__(self, observation_space, action_space, hidden_sizes=(256, 256), activation=nn.ReLU):
        super().__init__()
        obs_dim = observation_dim(observation_space)
        low, high = continuous_action_bounds(action_space, "DDPG")
        self.pi = MLPDeterministicActor(obs_dim, len(low), hidden_sizes, activation, low, high)
        self.q = MLPQFunction(obs_dim, len(low), hidden_sizes, activation)

    def act(self, obs, deterministic=True):
        with torch.inference_mode():  # acting needs no gradients (see MLPActorCritic.step)
            return self.pi(as_tensor(obs)).numpy()


class TD3ActorCritic(nn.Module):
    """TD3: a deterministic actor ``pi`` and two Q functions ``q1``, ``q2`` (clipped double-Q)."""

    def __init__(self, observation_space, action_space, hidden_sizes=(256, 256), activation=nn.ReLU):
        super().__init__()
        obs_dim = observation_dim(observation_space)
        low, high = continuous_action_bounds(action_space, "TD3")
        self.pi = MLPDeterministicActor(obs_dim, len(low), hidden_sizes, activation, low, high)
        self.q1 = MLPQFunction(obs_dim, len(low), hidden_sizes, activation)
        self.q2 = MLPQFunction(obs_dim, len(low), hidden_sizes, activation)

    def act(self, obs, deterministic=True):
        with torch.inference_mode():  # acting needs no gradients (see MLPActorCritic.step)
            return self.pi(as_tensor(obs)).numpy()


class SACActorCritic(nn.Module):
    """SAC: a squashed Gaussian actor ``pi`` and two Q functions ``q1``, ``q2``."""

    def __init__(self, observation_space, action_space, hidden_sizes=(256, 256), activation=nn.ReLU):
        super().__init__()
        obs_dim = observation_dim(observation_space)
        low, high = continuous_action_bounds(action_space, "SAC")
        self.pi = SquashedGaussianMLPActor(obs_dim, len(low), hidden_sizes, activation, low, high)
        self.q1 = MLPQFunction(obs_dim, len(low), hidden_sizes, activation)
        self.q2 = MLPQFunction(obs_dim, len(low), hidden_sizes, activation)

    def act(self, obs, deterministic=False):
        """A sampled action, or the mean action (tanh of the mean) when deterministic."""
        with torch.inference_mode():  # acting needs no gradients (see MLPActorCritic.step)
            a, _ = self.pi(as_tensor(obs), deterministic, with_logprob=False)
            return a.numpy()


# ----------------------------------------------------------------------------------------------
# Buffers
# ----------------------------------------------------------------------------------------------
class OnPolicyBuffer:
    """One epoch of experience for VPG, TRPO and PPO, with GAE-lambda advantages.

    ``store`` one step at a time; ``finish_path(last_val)`` when a trajectory ends or is cut:
    ``last_val`` is 0 if the episode terminated, and V(s_T) if it was truncated (time limit or
    end of epoch), so the return is bootstrapped only where the episode really goes on.
    """

    def __init__(self, obs_dim, act_dim, size, gamma=0.99, lam=0.95):
        self.obs_buf = np.zeros(combined_shape(size, obs_dim), dtype=np.float32)
        self.act_buf = np.zeros(combined_shape(size, act_dim), dtype=np.float32)
        self.adv_buf = np.zeros(size, dtype=np.float32)
        self.rew_buf = np.zeros(size, dtype=np.float32)
        self.ret_buf = np.zeros(size, dtype=np.float32)
        self.val_buf = np.zeros(size, dtype=np.float32)
        self.logp_buf = np.zeros(size, dtype=np.float32)
        self.gamma, self.lam = gamma, lam
        self.ptr, self.path_start_idx, self.max_size = 0, 0, size

    def store(self, obs, act, rew, val, logp):
        """Append one step: observation, action, reward, V(obs) and log pi(act|obs)."""
        assert self.ptr < self.max_size, "buffer full: call get() once per epoch"
        self.obs_buf[self.ptr] = obs
        self.act_buf[self.ptr] = act
        self.rew_buf[self.ptr] = rew
        self.val_buf[self.ptr] = val
        self.logp_buf[self.ptr] = logp
        self.ptr += 1

    def finish_path(self, last_val=0.0):
        """Compute advantages and rewards-to-go for the trajectory that just ended."""
        path_slice = slice(self.path_start_idx, self.ptr)
        rews = np.append(self.rew_buf[path_slice], last_val)
        vals = np.append(self.val_buf[path_slice], last_val)

        # GAE-lambda: delta_t = r_t + gamma V(s_{t+1}) - V(s_t);  A_t = sum_l (gamma lam)^l delta_{t+l}
        deltas = rews[:-1] + self.gamma * vals[1:] - vals[:-1]
        self.adv_buf[path_slice] = discounted_cumsum(deltas, self.gamma * self.lam)

        # rewards-to-go R_t = sum_l gamma^l r_{t+l} (bootstrapped with last_val): the value targets
        self.ret_buf[path_slice] = discounted_cumsum(rews, self.gamma)[:-1]

        self.path_start_idx = self.ptr

    def get(self):
        """The whole epoch as tensors, advantages normalised to mean 0, std 1 across all processes."""
        assert self.ptr == self.max_size, "get() needs a full buffer"
        self.ptr, self.path_start_idx = 0, 0
        adv_mean, adv_std = mpi_statistics_scalar(self.adv_buf)
        self.adv_buf = (self.adv_buf - adv_mean) / (adv_std + 1e-8)
        data = dict(obs=self.obs_buf, act=self.act_buf, ret=self.ret_buf, adv=self.adv_buf, logp=self.logp_buf)
        return {k: torch.as_tensor(v, dtype=torch.float32) for k, v in data.items()}


class ReplayBuffer:
    """A first-in first-out experience replay buffer for DDPG, TD3 and SAC.

    ``done`` must be True only when the episode *terminated*; a time-limit truncation is not
    an end of the task, so the backup still bootstraps from Q(s', .) there.
    """

    def __init__(self, obs_dim, act_dim, size, seed=None):
        self.obs_buf = np.zeros(combined_shape(size, obs_dim), dtype=np.float32)
        self.obs2_buf = np.zeros(combined_shape(size, obs_dim), dtype=np.float32)
        self.act_buf = np.zeros(combined_shape(size, act_dim), dtype=np.float32)
        self.rew_buf = np.zeros(size, dtype=np.float32)
        self.done_buf = np.zeros(size, dtype=np.float32)
        self.ptr, self.size, self.max_size = 0, 0, int(size)
        self.total_stored = 0  # transitions stored ever (checkpoints save only the new ones)
        self.rng = np.random.default_rng(seed)

    def store(self, obs, act, rew, next_obs, done):
        self.obs_buf[self.ptr] = obs
        self.obs2_buf[self.ptr] = next_obs
        self.act_buf[self.ptr] = act
        self.rew_buf[self.ptr] = rew
        self.done_buf[self.ptr] = done
        self.ptr = (self.ptr + 1) % self.max_size
        self.size = min(self.size + 1, self.max_size)
        self.total_stored += 1

    def sample_batch(self, batch_size=32):
        """A uniformly random minibatch as a dict of tensors: obs, obs2, act, rew, done."""
        idxs = self.rng.integers(0, self.size, size=batch_size)
        batch = dict(obs=self.obs_buf[idxs], obs2=self.obs2_buf[idxs], act=self.act_buf[idxs],
                     rew=self.rew_buf[idxs], done=self.done_buf[idxs])
        return {k: torch.as_tensor(v, dtype=torch.float32) for k, v in batch.items()}
