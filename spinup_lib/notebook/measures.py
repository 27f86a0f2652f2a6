"""What the chapters measure on agents and runs: experience from a fixed policy, a critic's bias.

* :func:`collect_episodes` and :func:`collect_batch`: experience from a fixed policy, as whole
  episodes (the simplest policy gradient) or as one epoch's :class:`~spinup_lib.core.OnPolicyBuffer`
  exactly as VPG, TRPO and PPO fill it.
* :func:`q_bias_over_training`: an off-policy critic's estimate against the true return, for every
  snapshot of a run (:func:`~spinup_lib.notebook.q_versus_monte_carlo` on each).

Chapters import these from ``spinup_lib.notebook``.
"""
import numpy as np
import pandas as pd
import torch

from spinup_lib.core import OnPolicyBuffer
from spinup_lib.errors import UserError
from spinup_lib.notebook.q_values import q_versus_monte_carlo
from spinup_lib.notebook.runs import load_agent, read_progress, snapshot_epochs

__all__ = ["collect_batch", "collect_episodes", "q_bias_over_training"]

# ----------------------------------------------------------------------------------------------
# Experience from a fixed policy
# ----------------------------------------------------------------------------------------------
def collect_episodes(env, policy, min_steps, seed=None):
    """Play whole episodes with ``policy`` until at least ``min_steps`` steps are collected.

    Every episode is played to its end (termination or the env's time limit), never cut, as the
    simplest policy gradient needs the return of whole trajectories.

    Args:
        env: a gymnasium env.
        policy: an actor with ``distribution(obs)`` (e.g. ``core.MLPCategoricalActor``), whose
            sampled action is played; or any function ``obs -> action``.
        min_steps: keep playing episodes until the batch holds at least this many steps.
        seed: if given, seeds the first reset (the start of a run); later episodes continue
            the env's random stream.

    Returns:
        list of dicts, one per episode: ``obs`` (T, obs_dim) float32, ``act`` (T, ...), ``rew``
        (T,) float64, ``last_obs`` (the observation after the last step) and ``terminated``
        (True if the episode ended, False if the time limit cut it).
    """

    def act(obs):
        if not hasattr(policy, "distribution"):
            return policy(obs)
        with torch.inference_mode():  # acting needs no gradients, and this is the hot loop
            action = policy.distribution(torch.as_tensor(obs, dtype=torch.float32)).sample()
        return action.item() if action.ndim == 0 else action.numpy()

    episodes, steps = [], 0
    while steps < min_steps:
        obs, _ = env.reset(seed=seed)
        seed = None  # seed only the first reset
        observations, actions, rewards = [], [], []
        while True:
            action = act(obs)
            observations.append(obs)
            actions.append(action)
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
            if terminated or truncated:
                break
        episodes.append(dict(obs=np.array(observations, dtype=np.float32), act=np.array(actions),
                             rew=np.array(rewards, dtype=np.float64), last_obs=obs, terminated=terminated))
        steps += len(rewards)
    return episodes


def collect_batch(agent, env, num_steps, gamma=0.99, lam=0.97, max_ep_len=1000, seed=None):
    """One epoch of experience from a fixed agent, exactly as VPG, TRPO and PPO collect it.

    Plays ``num_steps`` steps with ``agent.step`` (a sampled action, V(s) and log pi(a|s)) into an
    :class:`~spinup_lib.core.OnPolicyBuffer`, closing every trajectory the way the library's epoch
    loop does: with 0 after a termination, bootstrapped with V of the last state after a time
    limit, ``max_ep_len`` or the end of the batch; the env is reset after each.

    Args:
        agent: an on-policy actor-critic (``core.MLPActorCritic``), e.g. from :func:`load_agent`.
        env: a gymnasium env (reused: pass the same env to get independent batches in turn).
        num_steps: steps in the batch.
        gamma, lam: the discount and the GAE lambda of the advantages. ``lam`` may also be a
            list or tuple of lambdas: then one buffer per lambda is filled from the same steps.
        max_ep_len: cut episodes after this many steps, as the algorithms' ``max_ep_len`` does.
        seed: seeds the first reset (None: continue the env's random stream).

    Returns:
        OnPolicyBuffer, full (its ``get()`` gives the batch with normalised advantages, as the
        update sees it; ``adv_buf`` and ``ret_buf`` hold them before normalisation); or
        ``{lam: OnPolicyBuffer}`` when ``lam`` is a list or tuple.
    """


    lams = tuple(lam) if isinstance(lam, (list, tuple)) else (lam,)
    shape = env.observation_space.shape, env.action_space.shape
    buffers = {one: OnPolicyBuffer(*shape, num_steps, gamma, one) for one in lams}
    obs, _ = env.reset(seed=seed)
    ep_len = 0
    for t in range(num_steps):
        action, value, logp = agent.step(torch.as_tensor(obs, dtype=torch.float32))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        ep_len += 1
        for buf in buffers.values():
            buf.store(obs, action, reward, value, logp)
        obs = next_obs
        if terminated or truncated or ep_len == max_ep_len or t == num_steps - 1:
            last_v = 0.0 if terminated else agent.step(torch.as_tensor(obs, dtype=torch.float32))[1]
            for buf in buffers.values():
                buf.finish_path(last_v)
            obs, _ = env.reset()
            ep_len = 0
    return buffers if isinstance(lam, (list, tuple)) else buffers[lam]


# ----------------------------------------------------------------------------------------------
# An off-policy critic against the truth, over training
# ----------------------------------------------------------------------------------------------
def q_bias_over_training(run_dir, env_fn, gamma, q_column="q", epochs=None, **mc_kwargs):
    """How far an off-policy agent's Q estimate is from the true return, at every saved snapshot.

    For each snapshot (:func:`snapshot_epochs`), rebuilds the agent and compares its critic's
    ``Q(s, mu(s))`` with the Monte Carlo return of its deterministic policy over the states it
    visits (:func:`~spinup_lib.notebook.q_versus_monte_carlo`).

    Args:
        run_dir: a DDPG, TD3 or SAC run that saved snapshots.
        env_fn: builds the env (``make_env_fn(env_id)``).
        gamma: the discount the agent was trained with.
        q_column: the critic to score: ``'q'`` (DDPG), ``'q1'`` or ``'q2'`` (TD3, SAC).
        epochs: the snapshots to score (default: all of them).
        **mc_kwargs: ``num_episodes``, ``episode_len``, ``tail_tol``, ``seed`` of ``q_versus_monte_carlo``.

    Returns:
        pandas.DataFrame, one row per snapshot: ``epoch``, ``steps`` (TotalEnvInteracts at that
        epoch), ``q`` (the scored critic) and ``mc_return`` (means over the scored states), ``bias`` =
        q - mc_return, and the mean of every critic the agent has under its own name (``q1`` and
        ``q2`` of a TD3 or SAC agent, from the same playthroughs: the critics compared on the same states).
    """


    progress = read_progress(run_dir).set_index("Epoch")
    rows = []
    for epoch in snapshot_epochs(run_dir) if epochs is None else epochs:
        table = q_versus_monte_carlo(load_agent(run_dir, epoch), env_fn, gamma, **mc_kwargs)
        if q_column not in table:
            raise UserError(f"q_bias_over_training: the agent of {run_dir} has no critic {q_column!r} "
                            f"(it has {', '.join(c for c in table.columns if c.startswith('q'))})")
        critics = {name: table[name].mean() for name in ("q1", "q2") if name in table}
        rows.append(dict(epoch=epoch, steps=int(progress.loc[epoch, "TotalEnvInteracts"]),
                         q=table[q_column].mean(), mc_return=table.mc_return.mean(), **critics))
    bias = pd.DataFrame(rows)
    bias["bias"] = bias.q - bias.mc_return
    return bias
