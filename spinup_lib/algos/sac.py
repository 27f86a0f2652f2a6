"""Soft Actor-Critic (SAC), as in the SAC chapter, with a fixed entropy coefficient alpha.

Pseudocode, one environment step at a time:
    1. observe s; sample a ~ pi(.|s) (uniformly random actions for the first start_steps steps)
    2. step the env, observe (s', r, terminated); store (s, a, r, s', d) with d = terminated
    3. every update_every steps (once past update_after), for j in 1..update_every:
         sample a minibatch B from the replay buffer
         entropy-regularised target, with a fresh a' ~ pi(.|s') from the current policy:
                           y = r + gamma (1 - d) (min(Q1_targ(s', a'), Q2_targ(s', a')) - alpha log pi(a'|s'))
         Q step:           phi_i <- phi_i - lr grad (1/|B|) sum (Q_i(s, a) - y)^2,  for i = 1, 2
         policy step, with the reparameterised a~(s) = tanh(mu(s) + sigma(s) xi), xi ~ N(0, I):
                           theta <- theta + lr grad (1/|B|) sum (min(Q1, Q2)(s, a~(s)) - alpha log pi(a~(s)|s))
         target networks:  phi_targ_i <- rho phi_targ_i + (1 - rho) phi_i
    4. at the end of each epoch, play num_test_episodes episodes with the mean action
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


def sac(env_fn, actor_critic=core.SACActorCritic, ac_kwargs=dict(), seed=0,
        steps_per_epoch=4000, epochs=100, replay_size=int(1e6), gamma=0.99, polyak=0.995,
        lr=1e-3, alpha=0.2, batch_size=100, start_steps=10000, update_after=1000,
        update_every=50, num_test_episodes=10, max_ep_len=1000, logger_kwargs=dict(),
        save_freq=1, resume_from=None):
    """Soft Actor-Critic (SAC).

    Args:
        env_fn: A function that creates a copy of the environment (gymnasium API, Box actions).
        actor_critic: The constructor of a torch module with an ``act`` method, a ``pi``
            module and two Q modules ``q1`` and ``q2``, built as
            ``actor_critic(observation_space, action_space, **ac_kwargs)``:
            ``pi(obs, deterministic=False, with_logprob=True)`` returns actions inside the
            action box (sampled with the reparameterisation trick, or the mean action when
            deterministic) and their log-likelihoods log pi(a|obs);
            ``q1(obs, act)`` and ``q2(obs, act)`` return Q values with shape (batch,);
            ``act(obs, deterministic)`` returns the numpy action for one observation.
        ac_kwargs (dict): Keyword arguments for actor_critic (e.g. hidden_sizes, activation).
        seed (int): Seed for torch, numpy, the environments and the replay buffer.
        steps_per_epoch (int): Environment steps (state-action pairs) per epoch.
        epochs (int): Number of epochs to run and train the agent for.
        replay_size (int): Largest number of steps the replay buffer holds.
        gamma (float): Discount factor, between 0 and 1.
        polyak (float): Interpolation factor rho of the target networks' averaging,
            phi_targ <- rho phi_targ + (1 - rho) phi; close to 1.
        lr (float): Learning rate of both the policy and the Q functions' optimizers (Adam).
        alpha (float): Entropy coefficient (the inverse of the reward scale in the original
            SAC paper): the larger, the more the agent is paid to keep its policy random.
        batch_size (int): Minibatch size of each gradient step.
        start_steps (int): Steps of uniformly random actions at the start, for exploration;
            the policy acts from then on.
        update_after (int): Steps collected before the first update, so the replay buffer
            holds enough to learn from.
        update_every (int): Steps between updates; each time, update_every gradient steps
            are taken, so there is one gradient step per env step on average.
        num_test_episodes (int): Episodes played with the mean action at the end of each epoch.
        max_ep_len (int): Longest episode the agent plays; a cut episode is bootstrapped
            like a time limit, since the task itself did not end.
        logger_kwargs (dict): Keyword arguments for EpochLogger (output_dir, exp_name).
        save_freq (int): Save the agent every save_freq epochs (and at the last one).
            The checkpoint that resume continues from is saved every epoch.
        resume_from (dict): A checkpoint to continue from; use ``spinup_lib.resume(run_dir)``
            or ``python -m spinup_lib.run resume RUN_DIR`` rather than passing it yourself.
    """
    check_arguments('sac', locals())  # every value in range, and one process, before anything starts
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
    # (SAC's targets use the current policy, so ac_targ.pi is carried along but never used.)
    ac_targ = deepcopy(ac)
    for p in ac_targ.parameters():
        p.requires_grad = False

    # A list, not a generator: it is walked twice per policy step, for as long as training runs.
    q_params = list(ac.q1.parameters()) + list(ac.q2.parameters())

    replay_buffer = core.ReplayBuffer(obs_dim, act_dim, replay_size, seed=seed)

    var_counts = tuple(core.count_vars(module) for module in [ac.pi, ac.q1, ac.q2])
    logger.log('\nNumber of parameters: \t pi: %d, \t q1: %d, \t q2: %d\n' % var_counts)

    def compute_loss_q(data):
        """Mean squared soft Bellman errors of Q1 and Q2 against the entropy-regularised target."""
        o, a, r, o2, d = data['obs'], data['act'], data['rew'], data['obs2'], data['done']
        q1 = ac.q1(o, a)
        q2 = ac.q2(o, a)

        with torch.no_grad():
            # region: sac-soft-target
            # The next action comes fresh from the *current* policy, not from the buffer.
            a2, logp_a2 = ac.pi(o2)

            # Soft backup: the smaller target Q, plus the entropy bonus -alpha log pi(a'|s').
            q_pi_targ = torch.min(ac_targ.q1(o2, a2), ac_targ.q2(o2, a2))
            backup = r + gamma * (1 - d) * (q_pi_targ - alpha * logp_a2)
            # endregion

        loss_q = ((q1 - backup) ** 2).mean() + ((q2 - backup) ** 2).mean()
        return loss_q, dict(Q1Vals=q1.detach().numpy(), Q2Vals=q2.detach().numpy())

    def compute_loss_pi(data):
        """L(theta) = (1/|B|) sum (alpha log pi(a~|s) - min(Q1, Q2)(s, a~)), a~ reparameterised."""
        o = data['obs']
        pi, logp_pi = ac.pi(o)
        q_pi = torch.min(ac.q1(o, pi), ac.q2(o, pi))
        loss_pi = (alpha * logp_pi - q_pi).mean()
        return loss_pi, dict(LogPi=logp_pi.detach().numpy())

    # fused: each Adam step is one kernel over all the parameters instead of about ten small
    # operations per tensor: the same update up to rounding, about 8% of an update's time
    # (benchmarks/README.md, "Speed against b737713", with its learning comparison).
    pi_optimizer = Adam(ac.pi.parameters(), lr=lr, fused=True)
    q_optimizer = Adam(q_params, lr=lr, fused=True)

    # What the logger saves: the agent, for replay, and every epoch everything resume needs.
    logger.setup_pytorch_saver(ac, ac_kwargs, env)
    logger.setup_checkpoint(ac=ac, ac_targ=ac_targ, pi_optimizer=pi_optimizer, q_optimizer=q_optimizer,
                            replay_buffer=replay_buffer, env=env, test_env=test_env)

    def update(data):
        # One gradient step on both Q functions.
        q_optimizer.zero_grad()
        loss_q, q_info = compute_loss_q(data)
        loss_q.backward()
        q_optimizer.step()

        # Freeze the Q functions so the policy step computes no gradients for them.
        for p in q_params:
            p.requires_grad = False
        pi_optimizer.zero_grad()
        loss_pi, pi_info = compute_loss_pi(data)
        loss_pi.backward()
        pi_optimizer.step()
        for p in q_params:
            p.requires_grad = True

        logger.store(LossQ=loss_q.item(), LossPi=loss_pi.item(), **q_info, **pi_info)

        # Polyak averaging of the target networks, in place.
        with torch.no_grad():
            for p, p_targ in zip(ac.parameters(), ac_targ.parameters()):
                p_targ.mul_(polyak).add_(p, alpha=1 - polyak)

    def get_action(o, deterministic=False):
        """A sample from pi(.|s), or its mean action (tanh of the Gaussian's mean) when deterministic."""
        return ac.act(o, deterministic)

    def test_agent():
        """Play num_test_episodes episodes with the mean action, on a separate env."""
        for _ in range(num_test_episodes):
            o, _ = test_env.reset()
            ep_ret, ep_len, done = 0, 0, False
            while not done:
                o, r, terminated, truncated, _ = test_env.step(get_action(o, deterministic=True))
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
            # region: sac-experience-loop
            # Uniformly random actions at first, for a broad spread of early experience.
            if t >= start_steps:
                a = get_action(o)
            else:
                a = env.action_space.sample()

            o2, r, terminated, truncated, _ = env.step(a)
            ep_ret += r
            ep_len += 1

            # d = terminated only: after a time limit (or a max_ep_len cut) the task goes on,
            # so the backup must still bootstrap from Q(s', .). o2 is the real next observation.
            replay_buffer.store(o, a, r, o2, terminated)
            o = o2

            if terminated or truncated or ep_len == max_ep_len:
                logger.store(EpRet=ep_ret, EpLen=ep_len)
                o, _ = env.reset()
                ep_ret, ep_len = 0, 0

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
        logger.log_tabular('Q1Vals', with_min_and_max=True)
        logger.log_tabular('Q2Vals', with_min_and_max=True)
        logger.log_tabular('LogPi', with_min_and_max=True)
        logger.log_tabular('LossPi', average_only=True)
        logger.log_tabular('LossQ', average_only=True)
        logger.log_tabular('Time', time.time() - start_time)
        logger.dump_tabular()

        # Save after testing: the agent for replay every save_freq epochs, and everything resume
        # needs every epoch: the episode in progress (it goes on into the next epoch) and the
        # replay buffer's steps new since the last checkpoint.
        if (epoch + 1) % save_freq == 0 or epoch == epochs - 1:
            logger.save_state(epoch)
        logger.save_checkpoint('sac', epoch, o=o, ep_ret=ep_ret, ep_len=ep_len, t=t)

    env.close()
    test_env.close()
    return ac
