"""Vanilla Policy Gradient (VPG) with GAE-lambda advantages, as in the VPG chapter.

Pseudocode, one epoch at a time:
    1. collect a set of trajectories D_k by running pi_k in the environment
    2. compute rewards-to-go R_t and advantages A_t (GAE-lambda, with the current V_phi)
    3. one gradient step on the policy:   theta <- theta + alpha * grad (1/|D|) sum log pi(a_t|s_t) A_t
    4. fit the value function:            phi   <- argmin (1/|D|) sum (V_phi(s_t) - R_t)^2
"""
import time

import numpy as np
import torch
from torch.optim import Adam

from spinup_lib import core
from spinup_lib.checks import check_arguments
from spinup_lib.logx import EpochLogger
from spinup_lib.mpi import mpi_avg_grads, num_procs, proc_id, setup_pytorch_for_mpi, sync_params


def vpg(env_fn, actor_critic=core.MLPActorCritic, ac_kwargs=dict(), seed=0,
        steps_per_epoch=4000, epochs=50, gamma=0.99, pi_lr=3e-4, vf_lr=1e-3,
        train_v_iters=80, lam=0.97, max_ep_len=1000, logger_kwargs=dict(), save_freq=10,
        resume_from=None):
    """Vanilla Policy Gradient, with GAE-lambda for advantage estimation.

    Args:
        env_fn: A function that creates a copy of the environment (gymnasium API).
        actor_critic: The constructor of a torch module with a ``step`` method, an ``act``
            method, a ``pi`` module and a ``v`` module, built as
            ``actor_critic(observation_space, action_space, **ac_kwargs)``:
            ``step(obs)`` returns numpy arrays (a, v, logp_a) for a batch or one observation;
            ``pi(obs, act)`` returns the action distribution and log pi(act|obs);
            ``v(obs)`` returns V(obs) with shape (batch,).
            The default, ``core.MLPActorCritic``, has a categorical or diagonal Gaussian policy.
        ac_kwargs (dict): Keyword arguments for actor_critic (e.g. hidden_sizes, activation).
        seed (int): Seed for torch, numpy and the environment (process k uses seed + 10000 k).
        steps_per_epoch (int): Environment steps per epoch, summed over all processes.
        epochs (int): Number of epochs, each ending with one policy update.
        gamma (float): Discount factor, between 0 and 1.
        pi_lr (float): Learning rate of the policy optimizer (Adam).
        vf_lr (float): Learning rate of the value function optimizer (Adam).
        train_v_iters (int): Gradient steps on the value function per epoch.
        lam (float): Lambda of GAE-lambda, between 0 and 1 (close to 1 in practice).
        max_ep_len (int): Longest episode the agent plays; a cut episode is bootstrapped
            with V, like a time limit, since the task itself did not end.
        logger_kwargs (dict): Keyword arguments for EpochLogger (output_dir, exp_name).
        save_freq (int): Save the agent every save_freq epochs (and at the last one).
            The checkpoint that resume continues from is saved every epoch.
        resume_from (dict): A checkpoint to continue from; use ``spinup_lib.resume(run_dir)``
            or ``python -m spinup_lib.run resume RUN_DIR`` rather than passing it yourself.
    """
    check_arguments('vpg', locals())  # every value in range before anything starts
    setup_pytorch_for_mpi()  # one torch thread per process, so processes do not fight over cores

    logger = EpochLogger(**logger_kwargs)
    logger.save_config(locals())

    # Each process gets its own seed, so the processes collect different experience.
    seed += 10000 * proc_id()
    torch.manual_seed(seed)
    np.random.seed(seed)

    env = env_fn()
    obs_dim = env.observation_space.shape
    act_dim = env.action_space.shape

    ac = actor_critic(env.observation_space, env.action_space, **ac_kwargs)
    sync_params(ac)  # every process starts from the same networks
    var_counts = tuple(core.count_vars(module) for module in [ac.pi, ac.v])
    logger.log('\nNumber of parameters: \t pi: %d, \t v: %d\n' % var_counts)

    local_steps_per_epoch = int(steps_per_epoch / num_procs())
    buf = core.OnPolicyBuffer(obs_dim, act_dim, local_steps_per_epoch, gamma, lam)

    def compute_loss_pi(data):
        """L(theta) = -(1/|D|) sum_t log pi_theta(a_t|s_t) A_t; its gradient is minus the policy gradient."""
        obs, act, adv, logp_old = data['obs'], data['act'], data['adv'], data['logp']
        pi, logp = ac.pi(obs, act)
        loss_pi = -(logp * adv).mean()

        # Diagnostics: how far the policy moved, and how random it still is.
        approx_kl = (logp_old - logp).mean().item()
        ent = pi.entropy().mean().item()
        return loss_pi, dict(kl=approx_kl, ent=ent)

    def compute_loss_v(data):
        """Mean squared error between V_phi(s_t) and the rewards-to-go R_t."""
        obs, ret = data['obs'], data['ret']
        return ((ac.v(obs) - ret) ** 2).mean()

    pi_optimizer = Adam(ac.pi.parameters(), lr=pi_lr)
    vf_optimizer = Adam(ac.v.parameters(), lr=vf_lr)

    # What the logger saves: the agent, for replay, and every epoch everything resume needs.
    logger.setup_pytorch_saver(ac, ac_kwargs, env)
    logger.setup_checkpoint(ac=ac, pi_optimizer=pi_optimizer, vf_optimizer=vf_optimizer, env=env)

    def update():
        data = buf.get()

        pi_l_old, pi_info_old = compute_loss_pi(data)
        pi_l_old = pi_l_old.item()
        v_l_old = compute_loss_v(data).item()

        # One policy gradient step, with gradients averaged over processes.
        pi_optimizer.zero_grad()
        loss_pi, _ = compute_loss_pi(data)
        loss_pi.backward()
        mpi_avg_grads(ac.pi)
        pi_optimizer.step()

        # Value function regression.
        for _ in range(train_v_iters):
            vf_optimizer.zero_grad()
            loss_v = compute_loss_v(data)
            loss_v.backward()
            mpi_avg_grads(ac.v)
            vf_optimizer.step()

        # How far the step moved the policy, measured after it (before it, KL is 0).
        with torch.no_grad():
            pi_l_new, pi_info = compute_loss_pi(data)
        logger.store(LossPi=pi_l_old, LossV=v_l_old, KL=pi_info['kl'], Entropy=pi_info_old['ent'],
                     DeltaLossPi=pi_l_new.item() - pi_l_old, DeltaLossV=loss_v.item() - v_l_old)

    start_time = time.time()
    o, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    ep_ret, ep_len = 0, 0
    start_epoch, o = logger.restore(resume_from, o=o)  # epoch 0, or where a resumed run left off
    logger.setup_progress(epochs, start_epoch)

    # region: vpg-epoch-loop
    for epoch in range(start_epoch, epochs):
        for t in range(local_steps_per_epoch):
            a, v, logp = ac.step(torch.as_tensor(o, dtype=torch.float32))

            next_o, r, terminated, truncated, _ = env.step(a)
            ep_ret += r
            ep_len += 1

            buf.store(o, a, r, v, logp)
            logger.store(VVals=v)
            o = next_o

            truncated = truncated or ep_len == max_ep_len
            epoch_ended = t == local_steps_per_epoch - 1
            if terminated or truncated or epoch_ended:
                # Bootstrap with V(s_T) unless the episode truly ended: a time limit or the end
                # of the epoch cuts the trajectory, but the task would have gone on.
                if terminated:
                    last_v = 0.0
                else:
                    _, last_v, _ = ac.step(torch.as_tensor(o, dtype=torch.float32))
                buf.finish_path(last_v)
                if terminated or truncated:
                    logger.store(EpRet=ep_ret, EpLen=ep_len)  # only complete episodes count
                o, _ = env.reset()
                ep_ret, ep_len = 0, 0

        update()
        # endregion

        logger.log_tabular('Epoch', epoch)
        logger.log_tabular('EpRet', with_min_and_max=True)
        logger.log_tabular('EpLen', average_only=True)
        logger.log_tabular('VVals', with_min_and_max=True)
        logger.log_tabular('TotalEnvInteracts', (epoch + 1) * local_steps_per_epoch * num_procs())
        logger.log_tabular('LossPi', average_only=True)
        logger.log_tabular('LossV', average_only=True)
        logger.log_tabular('DeltaLossPi', average_only=True)
        logger.log_tabular('DeltaLossV', average_only=True)
        logger.log_tabular('Entropy', average_only=True)
        logger.log_tabular('KL', average_only=True)
        logger.log_tabular('Time', time.time() - start_time)
        logger.dump_tabular()

        # Save after the update: the agent for replay every save_freq epochs, and everything
        # resume needs every epoch (it is small), so a stopped run loses at most an epoch.
        if (epoch + 1) % save_freq == 0 or epoch == epochs - 1:
            logger.save_state(epoch)
        logger.save_checkpoint('vpg', epoch, o=o)

    env.close()
    return ac
