"""Deep Deterministic Policy Gradient (DDPG), as in the DDPG chapter.

Pseudocode, one environment step at a time:
    1. observe s; take a = clip(mu(s) + eps, a_low, a_high), eps ~ N(0, sigma)
       (uniformly random actions for the first start_steps steps)
    2. step the env, observe (s', r, terminated); store (s, a, r, s', d) with d = terminated
    3. every update_every steps (once past update_after), for j in 1..update_every:
         sample a minibatch B from the replay buffer
         Bellman target:   y = r + gamma (1 - d) Q_targ(s', mu_targ(s'))
         Q step:           phi <- phi - lr grad (1/|B|) sum (Q(s, a) - y)^2
         policy step:      theta <- theta + lr grad (1/|B|) sum Q(s, mu(s))
         target networks:  phi_targ <- rho phi_targ + (1 - rho) phi,  theta_targ likewise
    4. at the end of each epoch, play num_test_episodes episodes with mu (no noise)
"""
import time
from copy import deepcopy

import numpy as np
import torch
from torch.optim import Adam

from spinup_lib import core
from spinup_lib.checks import check_arguments
from spinup_lib.logx import EpochLogger
from spinup_lib.mpi import setup_pytorch_for_mpi


def ddpg(env_fn, actor_critic=core.DDPGActorCritic, ac_kwargs=dict(), seed=0,
         steps_per_epoch=4000, epochs=100, replay_size=int(1e6), gamma=0.99, polyak=0.995,
         pi_lr=1e-3, q_lr=1e-3, batch_size=100, start_steps=10000, update_after=1000,
         update_every=50, act_noise=0.1, num_test_episodes=10, max_ep_len=1000,
         logger_kwargs=dict(), save_freq=1, resume_from=None):
    """Deep Deterministic Policy Gradient (DDPG).

    Args:
        env_fn: A function that creates a copy of the environment (gymnasium API, Box actions).
        actor_critic: The constructor of a torch module with an ``act`` method, a ``pi``
            module and a ``q`` module, built as
            ``actor_critic(observation_space, action_space, **ac_kwargs)``:
            ``pi(obs)`` returns deterministic actions inside the action box;
            ``q(obs, act)`` returns Q values with shape (batch,);
            ``act(obs)`` returns the numpy action for one observation.
        ac_kwargs (dict): Keyword arguments for actor_critic (e.g. hidden_sizes, activation).
        seed (int): Seed for torch, numpy, the environments and the replay buffer.
        steps_per_epoch (int): Environment steps (state-action pairs) per epoch.
        epochs (int): Number of epochs to run and train the agent for.
        replay_size (int): Largest number of steps the replay buffer holds.
        gamma (float): Discount factor, between 0 and 1.
        polyak (float): Interpolation factor rho of the target networks' averaging,
            phi_targ <- rho phi_targ + (1 - rho) phi; close to 1.
        pi_lr (float): Learning rate of the policy optimizer (Adam). 0 keeps the policy as
            actor_critic built it, so the Q function learns that one policy's value.
        q_lr (float): Learning rate of the Q function's optimizer (Adam).
        batch_size (int): Minibatch size of each gradient step.
        start_steps (int): Steps of uniformly random actions at the start, for exploration;
            the policy (with noise) acts from then on.
        update_after (int): Steps collected before the first update, so the replay buffer
            holds enough to learn from.
        update_every (int): Steps between updates; each time, update_every gradient steps
            are taken, so there is one gradient step per env step on average.
        act_noise (float): Standard deviation of the Gaussian exploration noise, as a fraction
            of the action box's half-width (1 means the whole half-width).
        num_test_episodes (int): Episodes played deterministically at the end of each epoch.
        max_ep_len (int): Longest episode the agent plays; a cut episode is bootstrapped
            like a time limit, since the task itself did not end.
        logger_kwargs (dict): Keyword arguments for EpochLogger (output_dir, exp_name).
        save_freq (int): Save the agent every save_freq epochs (and at the last one).
            The checkpoint that resume continues from is saved every epoch.
        resume_from (dict): A checkpoint to continue from; use ``spinup_lib.resume(run_dir)``
            or ``python -m spinup_lib.run resume RUN_DIR`` rather than passing it yourself.
    """
    check_arguments('ddpg', locals())  # every value in range, and one process, before anything starts
    setup_pytorch_for_mpi()  # one torch thread: fastest for these small networks

    logger = EpochLogger(**logger_kwargs)
    logger.save_config(locals())

    torch.manual_seed(seed)
    np.random.seed(seed)

    env, test_env = env_fn(), env_fn()
    obs_dim = env.observation_space.shape
    act_dim = env.action_space.shape

    ac = actor_critic(env.observation_space, env.action_space, **ac_kwargs)
    # The target networks follow ac slowly (polyak averaging) and are never trained directly.
    ac_targ = deepcopy(ac)
    for p in ac_targ.parameters():
        p.requires_grad = False

    # A list, not a generator: it is walked twice per policy step, for as long as training runs.
    q_params = list(ac.q.parameters())

    # Noise is given as a fraction of the action box's half-width, so one act_noise suits any box.
    # region: ddpg-action-scale
    act_low, act_high = env.action_space.low, env.action_space.high
    act_scale = (act_high - act_low) / 2
    # endregion

    replay_buffer = core.ReplayBuffer(obs_dim, act_dim, replay_size, seed=seed)

    var_counts = tuple(core.count_vars(module) for module in [ac.pi, ac.q])
    logger.log('\nNumber of parameters: \t pi: %d, \t q: %d\n' % var_counts)

    def compute_loss_q(data):
        """Mean squared Bellman error of Q against y = r + gamma (1 - d) Q_targ(s', mu_targ(s'))."""
        o, a, r, o2, d = data['obs'], data['act'], data['rew'], data['obs2'], data['done']
        q = ac.q(o, a)

        # The target is a constant for this step: no gradient flows into it.
        with torch.no_grad():
            q_pi_targ = ac_targ.q(o2, ac_targ.pi(o2))
            backup = r + gamma * (1 - d) * q_pi_targ

        loss_q = ((q - backup) ** 2).mean()
        return loss_q, dict(QVals=q.detach().numpy())

    def compute_loss_pi(data):
        """L(theta) = -(1/|B|) sum Q(s, mu_theta(s)): the policy climbs the Q function."""
        o = data['obs']
        return -ac.q(o, ac.pi(o)).mean()

    # fused: each Adam step is one kernel over all the parameters instead of about ten small
    # operations per tensor: the same update up to rounding, about 8% of an update's time
    # (benchmarks/README.md, "Speed against b737713", with its learning comparison).
    pi_optimizer = Adam(ac.pi.parameters(), lr=pi_lr, fused=True)
    q_optimizer = Adam(q_params, lr=q_lr, fused=True)

    # What the logger saves: the agent, for replay, and every epoch everything resume needs.
    logger.setup_pytorch_saver(ac, ac_kwargs, env)
    logger.setup_checkpoint(ac=ac, ac_targ=ac_targ, pi_optimizer=pi_optimizer, q_optimizer=q_optimizer,
                            replay_buffer=replay_buffer, env=env, test_env=test_env)

    def update(data):
        # One gradient step on Q.
        q_optimizer.zero_grad()
        loss_q, loss_info = compute_loss_q(data)
        loss_q.backward()
        q_optimizer.step()

        # Freeze Q so the policy step computes no gradients for it.
        for p in q_params:
            p.requires_grad = False
        pi_optimizer.zero_grad()
        loss_pi = compute_loss_pi(data)
        loss_pi.backward()
        pi_optimizer.step()
        for p in q_params:
            p.requires_grad = True

        logger.store(LossQ=loss_q.item(), LossPi=loss_pi.item(), **loss_info)

        # Polyak averaging of the target networks, in place.
        # region: ddpg-polyak
        with torch.no_grad():
            for p, p_targ in zip(ac.parameters(), ac_targ.parameters()):
                p_targ.mul_(polyak).add_(p, alpha=1 - polyak)
        # endregion

    def get_action(o, noise_scale):
        """mu(s) plus Gaussian noise (noise_scale times the half-width), clipped to the box."""
        a = ac.act(o)
        if noise_scale > 0:
            a = a + noise_scale * act_scale * np.random.randn(*act_dim)
        return np.clip(a, act_low, act_high)

    def test_agent():
        """Play num_test_episodes episodes with the deterministic policy, on a separate env."""
        for _ in range(num_test_episodes):
            o, _ = test_env.reset()
            ep_ret, ep_len, done = 0, 0, False
            while not done:
                o, r, terminated, truncated, _ = test_env.step(get_action(o, 0))
                ep_ret += r
                ep_len += 1
                done = terminated or truncated or ep_len == max_ep_len
            logger.store(TestEpRet=ep_ret, TestEpLen=ep_len)

    start_time = time.time()
    o, _ = env.reset(seed=seed)
    env.action_space.seed(seed)  # the random actions of the first start_steps steps
    test_env.reset(seed=seed + 1)
    test_env.action_space.seed(seed + 1)
    ep_ret, ep_len = 0, 0
    # Epoch 0, or where a resumed run left off (its episode in progress goes on).
    start_epoch, o, ep_ret, ep_len = logger.restore(resume_from, o=o, ep_ret=ep_ret, ep_len=ep_len)
    logger.setup_progress(epochs, start_epoch)

    # Episodes run on across epoch boundaries: an epoch is only a unit of logging and testing.
    for epoch in range(start_epoch, epochs):
        for t in range(epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch):
            # Uniformly random actions at first, for a broad spread of early experience.
            # region: ddpg-explore
            if t >= start_steps:
                a = get_action(o, act_noise)
            else:
                a = env.action_space.sample()
            # endregion

            o2, r, terminated, truncated, _ = env.step(a)
            ep_ret += r
            ep_len += 1

            # region: ddpg-store
            # d = terminated only: after a time limit (or a max_ep_len cut) the task goes on,
            # so the backup must still bootstrap from Q(s', .). o2 is the real next observation.
            replay_buffer.store(o, a, r, o2, terminated)
            # endregion
            o = o2

            if terminated or truncated or ep_len == max_ep_len:
                logger.store(EpRet=ep_ret, EpLen=ep_len)
                o, _ = env.reset()
                ep_ret, ep_len = 0, 0

            # region: ddpg-update-schedule
            if t >= update_after and t % update_every == 0:
                for _ in range(update_every):
                    update(replay_buffer.sample_batch(batch_size))
            # endregion

        test_agent()

        logger.log_tabular('Epoch', epoch)
        logger.log_tabular('EpRet', with_min_and_max=True)
        logger.log_tabular('TestEpRet', with_min_and_max=True)
        logger.log_tabular('EpLen', average_only=True)
        logger.log_tabular('TestEpLen', average_only=True)
        logger.log_tabular('TotalEnvInteracts', t + 1)
        logger.log_tabular('QVals', with_min_and_max=True)
        logger.log_tabular('LossPi', average_only=True)
        logger.log_tabular('LossQ', average_only=True)
        logger.log_tabular('Time', time.time() - start_time)
        logger.dump_tabular()

        # Save after testing: the agent for replay every save_freq epochs, and everything resume
        # needs every epoch: the episode in progress (it goes on into the next epoch) and the
        # replay buffer's steps new since the last checkpoint.
        if (epoch + 1) % save_freq == 0 or epoch == epochs - 1:
            logger.save_state(epoch)
        logger.save_checkpoint('ddpg', epoch, o=o, ep_ret=ep_ret, ep_len=ep_len, t=t)

    env.close()
    test_env.close()
    return ac
