"""Proximal Policy Optimization (PPO-Clip), as in the PPO chapter.

Pseudocode, one epoch at a time:
    1. collect a set of trajectories D_k by running pi_k in the environment
    2. compute rewards-to-go R_t and advantages A_t (GAE-lambda, with the current V_phi)
    3. update the policy by maximising the clipped surrogate objective with several Adam steps
       on the whole batch, stopping early when the mean KL(pi_k || pi) exceeds 1.5 * target_kl:
           L(theta) = (1/|D|) sum_t min( r_t(theta) A_t, clip(r_t(theta), 1-eps, 1+eps) A_t ),
           r_t(theta) = pi_theta(a_t|s_t) / pi_k(a_t|s_t)
    4. fit the value function:  phi <- argmin (1/|D|) sum (V_phi(s_t) - R_t)^2
"""
import time

import numpy as np
import torch
from torch.optim import Adam

from spinup_lib import core
from spinup_lib.checks import check_arguments
from spinup_lib.logx import EpochLogger
from spinup_lib.mpi import mpi_avg, mpi_avg_grads, num_procs, proc_id, setup_pytorch_for_mpi, sync_params


def ppo(env_fn, actor_critic=core.MLPActorCritic, ac_kwargs=dict(), seed=0,
        steps_per_epoch=4000, epochs=50, gamma=0.99, clip_ratio=0.2, pi_lr=3e-4,
        vf_lr=1e-3, train_pi_iters=80, train_v_iters=80, lam=0.97, max_ep_len=1000,
        target_kl=0.01, logger_kwargs=dict(), save_freq=10, resume_from=None):
    """Proximal Policy Optimization, by clipping, with early stopping on the KL divergence.

    Args:
        env_fn: A function that creates a copy of the environment (gymnasium API).
        actor_critic: The constructor of a torch module with a ``step`` method, an ``act``
            method, a ``pi`` module and a ``v`` module, built as
            ``actor_critic(observation_space, action_space, **ac_kwargs)``:
            ``step(obs)`` returns numpy arrays (a, v, logp_a);
            ``pi(obs, act)`` returns the action distribution and log pi(act|obs);
            ``v(obs)`` returns V(obs) with shape (batch,).
            The default, ``core.MLPActorCritic``, has a categorical or diagonal Gaussian policy.
        ac_kwargs (dict): Keyword arguments for actor_critic (e.g. hidden_sizes, activation).
        seed (int): Seed for torch, numpy and the environment (process k uses seed + 10000 k).
        steps_per_epoch (int): Environment steps per epoch, summed over all processes.
        epochs (int): Number of epochs, each ending with a policy and a value update.
        gamma (float): Discount factor, between 0 and 1.
        clip_ratio (float): epsilon of the clipped objective: how far the probability ratio
            pi_new/pi_old may move before the objective stops rewarding the change (0.1 to 0.3).
        pi_lr (float): Learning rate of the policy optimizer (Adam).
        vf_lr (float): Learning rate of the value function optimizer (Adam).
        train_pi_iters (int): Most gradient steps on the policy per epoch (early stopping on
            KL may take fewer).
        train_v_iters (int): Gradient steps on the value function per epoch.
        lam (float): Lambda of GAE-lambda, between 0 and 1 (close to 1 in practice).
        max_ep_len (int): Longest episode the agent plays; a cut episode is bootstrapped with V.
        target_kl (float): The policy steps stop once the mean KL between the new and the old
            policy exceeds 1.5 * target_kl (0.01 or 0.05 are usual).
        logger_kwargs (dict): Keyword arguments for EpochLogger (output_dir, exp_name).
        save_freq (int): Save the agent every save_freq epochs (and at the last one).
            The checkpoint that resume continues from is saved every epoch.
        resume_from (dict): A checkpoint to continue from; use ``spinup_lib.resume(run_dir)``
            or ``python -m spinup_lib.run resume RUN_DIR`` rather than passing it yourself.
    """
    check_arguments('ppo', locals())  # every value in range before anything starts
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
        """Minus the clipped surrogate objective, on the whole epoch's data."""
        obs, act, adv, logp_old = data['obs'], data['act'], data['adv'], data['logp']

        pi, logp = ac.pi(obs, act)
        # region: ppo-clipped-objective
        ratio = torch.exp(logp - logp_old)  # r_t(theta) = pi_theta(a|s) / pi_old(a|s)
        clip_adv = torch.clamp(ratio, 1 - clip_ratio, 1 + clip_ratio) * adv
        loss_pi = -(torch.min(ratio * adv, clip_adv)).mean()
        # endregion

        # Diagnostics: KL estimate (used for early stopping), entropy, fraction of clipped ratios.
        approx_kl = (logp_old - logp).mean().item()
        ent = pi.entropy().mean().item()
        clipped = ratio.gt(1 + clip_ratio) | ratio.lt(1 - clip_ratio)
        clipfrac = torch.as_tensor(clipped, dtype=torch.float32).mean().item()
        return loss_pi, dict(kl=approx_kl, ent=ent, cf=clipfrac)

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

        # Policy steps on the clipped objective, until the policy has moved too far (in KL).
        # region: ppo-early-stop
        for i in range(train_pi_iters):
            pi_optimizer.zero_grad()
            loss_pi, pi_info = compute_loss_pi(data)
            kl = mpi_avg(pi_info['kl'])
            if kl > 1.5 * target_kl:
                logger.log('Early stopping at step %d due to reaching max kl.' % i)
                break
            loss_pi.backward()
            mpi_avg_grads(ac.pi)  # average gradients over processes
            pi_optimizer.step()
        logger.store(StopIter=i)
        # endregion

        # Value function regression.
        for _ in range(train_v_iters):
            vf_optimizer.zero_grad()
            loss_v = compute_loss_v(data)
            loss_v.backward()
            mpi_avg_grads(ac.v)
            vf_optimizer.step()

        kl, ent, cf = pi_info['kl'], pi_info_old['ent'], pi_info['cf']
        logger.store(LossPi=pi_l_old, LossV=v_l_old, KL=kl, Entropy=ent, ClipFrac=cf,
                     DeltaLossPi=loss_pi.item() - pi_l_old, DeltaLossV=loss_v.item() - v_l_old)

    start_time = time.time()
    o, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    ep_ret, ep_len = 0, 0
    start_epoch, o = logger.restore(resume_from, o=o)  # epoch 0, or where a resumed run left off
    logger.setup_progress(epochs, start_epoch)

    for epoch in range(start_epoch, epochs):
        # region: ppo-experience-loop
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
                # Bootstrap with V(s_T) unless the episode truly ended (see vpg.py).
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
        logger.log_tabular('ClipFrac', average_only=True)
        logger.log_tabular('StopIter', average_only=True)
        logger.log_tabular('Time', time.time() - start_time)
        logger.dump_tabular()

        # Save after the update: the agent for replay every save_freq epochs, and everything
        # resume needs every epoch (it is small), so a stopped run loses at most an epoch.
        if (epoch + 1) % save_freq == 0 or epoch == epochs - 1:
            logger.save_state(epoch)
        logger.save_checkpoint('ppo', epoch, o=o)

    env.close()
    return ac
