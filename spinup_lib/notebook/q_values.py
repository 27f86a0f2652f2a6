"""How far a learned Q function is from the truth: Q(s, mu(s)) against Monte Carlo returns."""
from spinup_lib.errors import UserError


def q_versus_monte_carlo(ac, env_fn, gamma, num_episodes=5, episode_len=None, tail_tol=0.01, seed=0):
    """Compare an agent's Q estimates with the discounted returns its policy really earns.

    Plays ``num_episodes`` episodes with the deterministic policy (``ac.act(obs,
    deterministic=True)``). For each of the first ``episode_len`` states ``s_t`` visited, it records
    the agent's estimate ``Q(s_t, mu(s_t))`` of every Q network it has (``q``; or ``q1`` and ``q2``)
    and the true discounted return of the same policy from that state,
    ``G_t = sum_k gamma^k r_{t+k}``. Since the Q functions are trained to bootstrap through time
    limits (they estimate the return of a task that goes on), each episode is played on past
    ``episode_len`` for as many extra steps as it takes for ``gamma^k`` to fall below ``tail_tol``
    (or until the env terminates), so that ``G_t`` misses at most that fraction of the future.
    With a deterministic env and policy one playthrough gives the exact return of each state.

    Args:
        ac: an actor-critic (``DDPGActorCritic``, ``TD3ActorCritic``...) with ``act`` and ``q`` or ``q1``/``q2``.
        env_fn: builds the env; called as ``env_fn(max_episode_steps=N)`` (``make_env_fn(env_id)`` does).
        gamma (float): the discount factor the agent was trained with, in (0, 1).
        num_episodes (int): episodes played (each from a fresh reset, seeded ``seed``, ``seed + 1``...).
        episode_len (int): states scored per episode; default the env's own time limit.
        tail_tol (float): how small ``gamma^k`` must get before a playthrough may stop.
        seed (int): seed of the first reset.

    Returns:
        pandas.DataFrame with one row per scored state: ``episode``, ``t``, ``mc_return`` and one
        column per Q network (``q``, or ``q1`` and ``q2``).

    Raises:
        UserError: gamma is not in (0, 1), or the agent has no Q network.
    """
    import math

    import numpy as np
    import pandas as pd
    import torch

    if not 0 < gamma < 1:
        raise UserError(f"gamma={gamma!r} must be between 0 and 1 (exclusive) for discounted returns")
    q_names = [name for name in ("q", "q1", "q2") if isinstance(getattr(ac, name, None), torch.nn.Module)]
    if not q_names:
        raise UserError(f"{type(ac).__name__} has no Q network (q, or q1 and q2): give an off-policy actor-critic")
    if episode_len is None:
        probe = env_fn()
        episode_len = probe.spec.max_episode_steps if probe.spec is not None else None
        probe.close()
        if episode_len is None:
            raise UserError("the env has no time limit: pass episode_len, the number of states to score")
    tail_len = math.ceil(math.log(tail_tol) / math.log(gamma))
    env = env_fn(max_episode_steps=episode_len + tail_len)

    frames = []
    try:
        for episode in range(num_episodes):
            obs, _ = env.reset(seed=seed + episode)
            observations, actions, rewards = [], [], []
            for _ in range(episode_len + tail_len):
                act = ac.act(torch.as_tensor(obs, dtype=torch.float32), deterministic=True)
                observations.append(obs)
                actions.append(act)
                obs, reward, terminated, truncated, _ = env.step(act)
                rewards.append(reward)
                if terminated or truncated:
                    break
            # G_t = r_t + gamma G_{t+1}, from the end backwards (G after a termination is 0).
            returns = np.zeros(len(rewards))
            running = 0.0
            for t in reversed(range(len(rewards))):
                running = rewards[t] + gamma * running
                returns[t] = running
            scored = min(episode_len, len(rewards))
            obs_batch = torch.as_tensor(np.array(observations[:scored]), dtype=torch.float32)
            act_batch = torch.as_tensor(np.array(actions[:scored]), dtype=torch.float32)
            frame = dict(episode=episode, t=np.arange(scored), mc_return=returns[:scored])
            with torch.no_grad():
                for name in q_names:
                    frame[name] = getattr(ac, name)(obs_batch, act_batch).numpy()
            frames.append(pd.DataFrame(frame))
    finally:
        env.close()
    return pd.concat(frames, ignore_index=True)
