"""Trust Region Policy Optimization (TRPO), and Natural Policy Gradient (NPG), as in the TRPO chapter.

Pseudocode, one epoch at a time:
    1. collect a set of trajectories D_k by running pi_k in the environment
    2. compute rewards-to-go R_t and advantages A_t (GAE-lambda, with the current V_phi)
    3. g = gradient of the surrogate advantage L(theta) = (1/|D|) sum pi_theta(a|s)/pi_k(a|s) A_t at theta_k
    4. x = H^{-1} g by conjugate gradient, H the Hessian of the mean KL(pi_k || pi_theta) at theta_k
    5. theta_{k+1} = theta_k + alpha^j sqrt(2 delta / (x^T H x)) x, where
          NPG:  j = 0 (always the full step);
          TRPO: j is the smallest j >= 0 whose step keeps KL <= delta and improves L (backtracking).
    6. fit the value function:  phi <- argmin (1/|D|) sum (V_phi(s_t) - R_t)^2

The original Spinning Up had TRPO only in TensorFlow 1; this is its PyTorch version.
"""
import time

import numpy as np
import torch
from torch.distributions import kl_divergence
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.optim import Adam

from spinup_lib import core
from spinup_lib.checks import check_arguments
from spinup_lib.logx import EpochLogger
from spinup_lib.mpi import mpi_avg, mpi_avg_grads, mpi_op, num_procs, proc_id, setup_pytorch_for_mpi, sync_params

EPS = 1e-8


def conjugate_gradient(Ax, b, iters):
    """Solve A x = b for a symmetric positive-definite A known only through x -> A x.

    Conjugate gradient needs iters products with A and never forms A: here A is the
    Fisher matrix (the Hessian of the KL) of a network with thousands of parameters.
    """
    x = torch.zeros_like(b)
    r = b.clone()  # residual b - A x, with x = 0
    p = r.clone()
    r_dot_old = r @ r
    for _ in range(iters):
        if r_dot_old == 0:
            # Solved exactly (e.g. b = 0, a zero gradient): stop before 0/0 makes x NaN.
            # The test is on values every MPI rank shares, so all ranks stop together.
            break
        z = Ax(p)
        alpha = r_dot_old / (p @ z + EPS)
        x += alpha * p
        r -= alpha * z
        r_dot_new = r @ r
        p = r + (r_dot_new / r_dot_old) * p
        r_dot_old = r_dot_new
    return x


def trpo(env_fn, actor_critic=core.MLPActorCritic, ac_kwargs=dict(), seed=0,
         steps_per_epoch=4000, epochs=50, gamma=0.99, delta=0.01, vf_lr=1e-3,
         train_v_iters=80, damping_coeff=0.1, cg_iters=10, backtrack_iters=10,
         backtrack_coeff=0.8, lam=0.97, max_ep_len=1000, logger_kwargs=dict(),
         save_freq=10, algo='trpo', resume_from=None):
    """Trust Region Policy Optimization, or Natural Policy Gradient with ``algo='npg'``.

    Args:
        env_fn: A function that creates a copy of the environment (gymnasium API).
        actor_critic: The constructor of a torch module with a ``step`` method, an ``act``
            method, a ``pi`` module and a ``v`` module, built as
            ``actor_critic(observation_space, action_space, **ac_kwargs)``:
            ``step(obs)`` returns numpy arrays (a, v, logp_a);
            ``pi(obs, act)`` returns the action distribution (a torch Distribution with one
            event per observation, so KL divergences are per observation) and log pi(act|obs);
            ``pi.distribution(obs)`` returns that distribution alone;
            ``v(obs)`` returns V(obs) with shape (batch,).
        ac_kwargs (dict): Keyword arguments for actor_critic (e.g. hidden_sizes, activation).
        seed (int): Seed for torch, numpy and the environment (process k uses seed + 10000 k).
        steps_per_epoch (int): Environment steps per epoch, summed over all processes.
        epochs (int): Number of epochs, each ending with a policy and a value update.
        gamma (float): Discount factor, between 0 and 1.
        delta (float): The trust region: the largest mean KL(pi_old || pi_new) a step may take
            (0.01 or 0.05 are usual).
        vf_lr (float): Learning rate of the value function optimizer (Adam).
        train_v_iters (int): Gradient steps on the value function per epoch.
        damping_coeff (float): Added to the Fisher matrix as H + damping_coeff * I, which keeps
            conjugate gradient stable when H is nearly singular (0.1 is a safe default).
        cg_iters (int): Conjugate gradient iterations to compute H^{-1} g (10 is usual: more
            is more exact and slower).
        backtrack_iters (int): Most line-search steps (TRPO only).
        backtrack_coeff (float): How much the step shrinks at each line-search step (TRPO only).
        lam (float): Lambda of GAE-lambda, between 0 and 1 (close to 1 in practice).
        max_ep_len (int): Longest episode the agent plays; a cut episode is bootstrapped with V.
        logger_kwargs (dict): Keyword arguments for EpochLogger (output_dir, exp_name).
        save_freq (int): Save the agent every save_freq epochs (and at the last one).
            The checkpoint that resume continues from is saved every epoch.
        algo (str): 'trpo' (backtracking line search) or 'npg' (always the full natural step).
        resume_from (dict): A checkpoint to continue from; use ``spinup_lib.resume(run_dir)``
            or ``python -m spinup_lib.run resume RUN_DIR`` rather than passing it yourself.
    """
    check_arguments('trpo', locals())  # every value in range before anything starts

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
    pi_params = list(ac.pi.parameters())

    def compute_loss_pi(data, pi_old):
        """Minus the surrogate advantage, and the mean KL(pi_old || pi_theta), on the epoch's data."""
        obs, act, adv, logp_old = data['obs'], data['act'], data['adv'], data['logp']
        pi, logp = ac.pi(obs, act)
        ratio = torch.exp(logp - logp_old)
        loss_pi = -(ratio * adv).mean()
        kl = kl_divergence(pi_old, pi).mean()
        return loss_pi, kl, pi.entropy().mean().item()

    def compute_loss_v(data):
        """Mean squared error between V_phi(s_t) and the rewards-to-go R_t."""
        obs, ret = data['obs'], data['ret']
        return ((ac.v(obs) - ret) ** 2).mean()

    def flat_grad(y, create_graph=False):
        """dy/dtheta for the policy parameters, averaged over processes, as one vector."""
        grads = torch.autograd.grad(y, pi_params, create_graph=create_graph)
        g = torch.cat([grad.reshape(-1) for grad in grads])
        return g if create_graph else torch.as_tensor(mpi_avg(g.numpy()), dtype=torch.float32)

    vf_optimizer = Adam(ac.v.parameters(), lr=vf_lr)

    # What the logger saves: the agent, for replay, and every epoch everything resume needs.
    logger.setup_pytorch_saver(ac, ac_kwargs, env)
    logger.setup_checkpoint(ac=ac, vf_optimizer=vf_optimizer, env=env)

    def update():
        data = buf.get()
        with torch.no_grad():
            pi_old = ac.pi.distribution(data['obs'])  # pi_k, held fixed during the step

        loss_pi, _, ent = compute_loss_pi(data, pi_old)
        # Averaged over processes like every number the line search compares: each rank must
        # take the same branch, or their collective calls stop matching (and MPI crashes).
        pi_l_old, v_l_old = mpi_avg(loss_pi.item()), compute_loss_v(data).item()

        # g: gradient of the surrogate (of minus it, since loss_pi = -L)
        g = flat_grad(loss_pi)

        # region: trpo-fisher-vector-product
        # Hx: Fisher-vector product, the gradient of (grad KL . x), plus damping
        _, kl, _ = compute_loss_pi(data, pi_old)
        grad_kl = flat_grad(kl, create_graph=True)

        def Hx(x):
            hvp = torch.autograd.grad(grad_kl @ x, pi_params, retain_graph=True)
            hvp = torch.cat([h.reshape(-1) for h in hvp])
            hvp = torch.as_tensor(mpi_avg(hvp.numpy()), dtype=torch.float32)
            return hvp + damping_coeff * x
        # endregion

        # region: trpo-natural-step
        # Natural gradient direction x = H^{-1} g, scaled so that the quadratic KL model equals delta
        x = conjugate_gradient(Hx, g, cg_iters)
        step_size = torch.sqrt(2 * delta / (x @ Hx(x) + EPS))
        theta_old = parameters_to_vector(pi_params).detach()
        # endregion

        def set_and_eval(step):
            theta_new = theta_old - step * step_size * x
            if not torch.all(torch.isfinite(theta_new)):
                # A failed solve (NaN or inf) gives no policy to evaluate: report NaN, which
                # fails every test below. Still average, so every rank makes the same MPI calls.
                return mpi_avg(float('nan')), mpi_avg(float('nan'))
            vector_to_parameters(theta_new, pi_params)
            return evaluate()

        def evaluate():
            with torch.no_grad():
                loss, kl, _ = compute_loss_pi(data, pi_old)
            return mpi_avg(kl.item()), mpi_avg(loss.item())

        def on_every_rank(condition):
            # The averages above are equal on every rank, but an MPI sum need not round the same
            # way everywhere: the minimum of 0/1 flags is exact, so the ranks cannot disagree.
            return mpi_op(float(condition), 'min') == 1.0

        def keep_old_params():
            # theta_old itself, not theta_old - 0 * step: a NaN step times 0 is still NaN.
            vector_to_parameters(theta_old, pi_params)
            return evaluate()

        # region: trpo-line-search
        if algo == 'npg':
            kl, pi_l_new = set_and_eval(step=1.0)
            backtrack_iters_used = 0
            if not on_every_rank(np.isfinite(kl)):
                logger.log('The natural gradient step is not finite! Keeping old params.')
                kl, pi_l_new = keep_old_params()
        else:
            # Backtracking line search: shrink the step until it satisfies the trust region
            # (KL <= delta) and improves the surrogate. Both tests use averages over processes.
            for j in range(backtrack_iters):
                kl, pi_l_new = set_and_eval(step=backtrack_coeff ** j)
                if on_every_rank(kl <= delta and pi_l_new <= pi_l_old):
                    logger.log('Accepting new params at step %d of line search.' % j)
                    backtrack_iters_used = j
                    break
            else:
                logger.log('Line search failed! Keeping old params.')
                backtrack_iters_used = backtrack_iters
                kl, pi_l_new = keep_old_params()
        # endregion

        # Value function regression.
        loss_v = torch.as_tensor(v_l_old)  # what DeltaLossV compares with when train_v_iters=0
        for _ in range(train_v_iters):
            vf_optimizer.zero_grad()
            loss_v = compute_loss_v(data)
            loss_v.backward()
            mpi_avg_grads(ac.v)
            vf_optimizer.step()

        logger.store(LossPi=pi_l_old, LossV=v_l_old, KL=kl, Entropy=ent,
                     DeltaLossPi=pi_l_new - pi_l_old, DeltaLossV=loss_v.item() - v_l_old)
        if algo == 'trpo':
            logger.store(BacktrackIters=backtrack_iters_used)

    start_time = time.time()
    o, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    ep_ret, ep_len = 0, 0
    start_epoch, o = logger.restore(resume_from, o=o)  # epoch 0, or where a resumed run left off
    logger.setup_progress(epochs, start_epoch)

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
        if algo == 'trpo':
            logger.log_tabular('BacktrackIters', average_only=True)
        logger.log_tabular('Time', time.time() - start_time)
        logger.dump_tabular()

        # Save after the update: the agent for replay every save_freq epochs, and everything
        # resume needs every epoch (it is small), so a stopped run loses at most an epoch.
        if (epoch + 1) % save_freq == 0 or epoch == epochs - 1:
            logger.save_state(epoch)
        logger.save_checkpoint('trpo', epoch, o=o)

    env.close()
    return ac
