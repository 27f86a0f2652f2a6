"""How far a learned Q function is from the truth: Q(s, mu(s)) against Monte Carlo returns."""
from spinup_lib.errors import UserError


def q_versus_monte_carlo(ac, env_fn, gamma, num_episodes=5, episode_len=None, tail_tol=0.01, seed=0,
                         target_noise=0.0, noise_clip=0.5):
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

    TD3's critic does not value ``mu`` itself: its target takes the next action from the
    *smoothed* policy ``clip(mu(s) + clip(eps, -c, c), low, high)``. With ``target_noise`` > 0
    every action of the playthrough gets that noise (in half-widths of the action box, as
    ``td3`` draws it), each Q is evaluated at the action really taken, and ``mc_return`` is one
    sample of that policy's return: unbiased, so averages over many states compare with Q.

    Args:
        ac: an actor-critic (``DDPGActorCritic``, ``TD3ActorCritic``...) with ``act`` and ``q`` or ``q1``/``q2``.
        env_fn: builds the env; called as ``env_fn(max_episode_steps=N)`` (``make_env_fn(env_id)`` does).
        gamma (float): the discount factor the agent was trained with, in (0, 1).
        num_episodes (int): episodes played (each from a fresh reset, seeded ``seed``, ``seed + 1``...).
        episode_len (int): states scored per episode; default the env's own time limit.
        tail_tol (float): how small ``gamma^k`` must get before a playthrough may stop.
        seed (int): seed of the first reset (and of the smoothing noise).
        target_noise (float): standard deviation of the smoothing noise, as a fraction of the
            action box's half-width; 0 (the default) plays ``mu`` itself.
        noise_clip (float): the noise is clipped to [-noise_clip, noise_clip] (same units).

    Returns:
        pandas.DataFrame with one row per scored state: ``episode``, ``t``, ``mc_return`` and one
        column per Q network (``q``, or ``q1`` and ``q2``), each at the action taken in that state.

    Raises:
        UserError: gamma is not in (0, 1), the noise is negative, or the agent has no Q network.
    """
    import math

    import numpy as np
    import pandas as pd
    import torch

    if not 0 < gamma < 1:
        raise UserError(f"gamma={gamma!r} must be between 0 and 1 (exclusive) for discounted returns")
    if not (target_noise >= 0 and noise_clip >= 0):
        raise UserError(f"target_noise ({target_noise!r}) and noise_clip ({noise_clip!r}) must be >= 0")
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
    low, high = env.action_space.low, env.action_space.high
    noise_rng = np.random.default_rng(seed)

    frames = []
    try:
        for episode in range(num_episodes):
            obs, _ = env.reset(seed=seed + episode)
            observations, actions, rewards = [], [], []
            for _ in range(episode_len + tail_len):
                act = ac.act(torch.as_tensor(obs, dtype=torch.float32), deterministic=True)
                if target_noise > 0:
                    epsilon = np.clip(target_noise * noise_rng.standard_normal(act.shape), -noise_clip, noise_clip)
                    act = np.clip(act + epsilon * (high - low) / 2, low, high).astype(act.dtype)
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
