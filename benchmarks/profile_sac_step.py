"""Where the time of one SAC environment step goes, on one CPU thread.

At the matched settings of benchmarks/compare_speed.py (HalfCheetah-v5 sizes, 256x256 networks,
batch 256, one gradient step per env step), one env step of SAC is: acting (a sample from the
policy for one observation), the MuJoCo step, storing the transition, and one update: a
minibatch, the Q loss (with the Bellman target), its backward pass and Adam step, the policy
loss, its backward pass and Adam step, and the Polyak average of the target networks.

This script times each part with the library's own networks, buffer and update code pattern
(``spinup_lib.algos.sac``), blocks of calls interleaved and repeated so a drifting machine
affects every part alike; and, separately, the matrix products alone (the same shapes, the
same number of calls), which is the arithmetic no framework overhead can remove. The
difference between the update and its matrix products is what PyTorch adds around them
(dispatching each small operation, autograd's bookkeeping, elementwise passes over memory).

Usage::

    python benchmarks/profile_sac_step.py            # about a minute
    python benchmarks/profile_sac_step.py --quick

Writes benchmarks/results/profile_sac_step.csv and profile_sac_step_machine.json.
"""
import argparse
import sys
import time
from copy import deepcopy

import numpy as np
import pandas as pd

from common import describe_machine, machine_info, main_guard, print_table, results_path, write_csv, write_json

BATCH, HIDDEN, ENV_ID = 256, 256, "HalfCheetah-v5"


def build():
    """The library's SAC networks, optimizers and a filled replay buffer, as sac() builds them."""
    import torch
    from torch.optim import Adam

    from spinup_lib import core
    from spinup_lib.envs import make_env_fn

    torch.set_num_threads(1)
    torch.manual_seed(0)
    env = make_env_fn(ENV_ID)()
    ac = core.SACActorCritic(env.observation_space, env.action_space)
    ac_targ = deepcopy(ac)
    for p in ac_targ.parameters():
        p.requires_grad = False
    q_params = list(ac.q1.parameters()) + list(ac.q2.parameters())
    pi_optimizer = Adam(ac.pi.parameters(), lr=1e-3, fused=True)
    q_optimizer = Adam(q_params, lr=1e-3, fused=True)
    obs_dim, act_dim = env.observation_space.shape, env.action_space.shape
    buffer = core.ReplayBuffer(obs_dim, act_dim, 100_000, seed=0)
    o, _ = env.reset(seed=0)
    for _ in range(5000):
        a = env.action_space.sample()
        o2, r, terminated, truncated, _ = env.step(a)
        buffer.store(o, a, r, o2, terminated)
        o = o2 if not (terminated or truncated) else env.reset()[0]
    return dict(env=env, ac=ac, ac_targ=ac_targ, q_params=q_params, pi_optimizer=pi_optimizer,
                q_optimizer=q_optimizer, buffer=buffer, obs=o)


def parts(s, gamma=0.99, alpha=0.2, polyak=0.995):
    """Callables, one per part of an env step, sharing state so that they run in order."""
    import torch

    ac, ac_targ, q_params = s["ac"], s["ac_targ"], s["q_params"]
    state = {}

    def act():
        s["ac"].act(s["obs"])

    def env_step():
        _, _, terminated, truncated, _ = s["env"].step(s["env"].action_space.sample())
        if terminated or truncated:
            s["env"].reset()

    def sample():
        state["data"] = s["buffer"].sample_batch(BATCH)

    def q_forward():
        d = state["data"]
        s["q_optimizer"].zero_grad()
        q1, q2 = ac.q1(d["obs"], d["act"]), ac.q2(d["obs"], d["act"])
        with torch.no_grad():
            a2, logp_a2 = ac.pi(d["obs2"])
            q_pi_targ = torch.min(ac_targ.q1(d["obs2"], a2), ac_targ.q2(d["obs2"], a2))
            backup = d["rew"] + gamma * (1 - d["done"]) * (q_pi_targ - alpha * logp_a2)
        state["loss_q"] = ((q1 - backup) ** 2).mean() + ((q2 - backup) ** 2).mean()

    def q_backward():
        state["loss_q"].backward()

    def q_adam():
        s["q_optimizer"].step()

    def pi_forward():
        for p in q_params:
            p.requires_grad = False
        s["pi_optimizer"].zero_grad()
        o = state["data"]["obs"]
        pi, logp_pi = ac.pi(o)
        state["loss_pi"] = (alpha * logp_pi - torch.min(ac.q1(o, pi), ac.q2(o, pi))).mean()

    def pi_backward():
        state["loss_pi"].backward()

    def pi_adam():
        s["pi_optimizer"].step()
        for p in q_params:
            p.requires_grad = True

    def polyak_average():
        with torch.no_grad():
            for p, p_targ in zip(ac.parameters(), ac_targ.parameters()):
                p_targ.mul_(polyak).add_(p, alpha=1 - polyak)

    return dict(act=act, env_step=env_step, sample_batch=sample, q_loss_forward=q_forward,
                q_loss_backward=q_backward, q_adam_step=q_adam, pi_loss_forward=pi_forward,
                pi_loss_backward=pi_backward, pi_adam_step=pi_adam, polyak_average=polyak_average)


def matrix_products(obs_dim, act_dim):
    """The update's matrix products alone: (m, k, n, calls) of every product one update computes."""
    h, b = HIDDEN, BATCH
    q_in, heads = obs_dim + act_dim, 2 * act_dim
    layers_q = [(b, q_in, h), (b, h, h), (b, h, 1)]
    layers_pi = [(b, obs_dim, h), (b, h, h), (b, h, heads)]
    shapes = []
    # forward: Q1, Q2 on (s, a); pi on s'; target Q1, Q2 on (s', a'); pi on s; Q1, Q2 on (s, a~)
    shapes += layers_q * 6 + layers_pi * 2
    # backward of the Q loss: weight gradients of every layer, input gradients of layers 2-3, both Qs
    shapes += [(k, m, n) for (m, k, n) in layers_q] * 2 + [(m, n, k) for (m, k, n) in layers_q[1:]] * 2
    # backward of the policy loss: input gradients through both (frozen) Qs, then the policy's
    # weight gradients and its layers' input gradients
    shapes += [(m, n, k) for (m, k, n) in layers_q] * 2
    shapes += [(k, m, n) for (m, k, n) in layers_pi] + [(m, n, k) for (m, k, n) in layers_pi[1:]]
    return shapes


def time_blocks(fns, calls, repeats):
    """Median seconds per call of each function, blocks of each interleaved ``repeats`` times."""
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - start) / calls)
    return {name: float(np.median(t)) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--results_dir", default=None)
    args = parser.parse_args()
    import torch

    info = machine_info()
    print(describe_machine(info))
    s = build()
    fns = parts(s)
    calls, repeats = (5, 3) if args.quick else (40, 15)
    step = list(fns.values())

    def one_env_step():  # the parts in their real order, so each sees the state the previous left
        for fn in step:
            fn()

    for _ in range(20):
        one_env_step()
    # Each part is timed inside a full env step (the others run too, unclocked), so that it sees
    # the caches and allocator state it sees in training.
    per_part = {name: [] for name in fns}
    totals = []
    for _ in range(repeats):
        for _ in range(calls):
            begin = time.perf_counter()
            for name, fn in fns.items():
                t = time.perf_counter()
                fn()
                per_part[name].append(time.perf_counter() - t)
            totals.append(time.perf_counter() - begin)
    rows = [dict(part=name, ms=1000 * float(np.median(t))) for name, t in per_part.items()]

    obs_dim, act_dim = s["env"].observation_space.shape[0], s["env"].action_space.shape[0]
    shapes = matrix_products(obs_dim, act_dim)
    operands = [(torch.randn(m, k), torch.randn(k, n)) for m, k, n in shapes]

    def all_products():
        for a, b in operands:
            torch.mm(a, b)

    gemm_ms = 1000 * time_blocks({"gemm": all_products}, max(2, calls // 4), repeats)["gemm"]
    total_ms = 1000 * float(np.median(totals))
    update_ms = sum(r["ms"] for r in rows if r["part"] not in ("act", "env_step"))
    rows.append(dict(part="env step, in total", ms=total_ms))
    rows.append(dict(part="update (sample to polyak)", ms=update_ms))
    rows.append(dict(part="  its matrix products alone", ms=gemm_ms))
    rows.append(dict(part="  the rest (overhead, elementwise)", ms=update_ms - gemm_ms))
    table = pd.DataFrame(rows)
    table["share_of_env_step"] = table["ms"] / total_ms
    print(f"\nOne SAC env step, batch {BATCH}, {HIDDEN}x{HIDDEN}, one thread "
          f"({len(shapes)} matrix products per update, {sum(2 * m * k * n for m, k, n in shapes) / 1e6:.0f} MFLOP):")
    print_table(table, float_format="{:.3f}".format)
    write_csv(table, results_path("profile_sac_step.csv", args.results_dir))
    write_json(dict(info, batch=BATCH, hidden=HIDDEN, env=ENV_ID, quick=args.quick),
               results_path("profile_sac_step_machine.json", args.results_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main_guard(main))
