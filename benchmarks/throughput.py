"""Training speed of the six algorithms, and the cost of their gradient updates.

For each of vpg, trpo, ppo, ddpg, td3 and sac, at default settings on HalfCheetah-v5, with
torch using 1 thread and then 2 threads, this script measures:

* **steps/s**: environment steps per second of training, updates included.
  On-policy (vpg, trpo, ppo): whole epochs (4000 steps, then the update), after one
  warm-up epoch. Off-policy (ddpg, td3, sac): a window of steps in the steady state, with
  updates at their default cadence (``update_every=50`` gradient steps every 50 env
  steps). ``start_steps`` and ``update_after`` are lowered so that the policy acts and the
  updates run from early on; the window starts after a warm-up.
* **update cost**: the time the algorithm spends per gradient step (``update_ms``), and
  the same figure for a bare PyTorch step on the same networks and batch size (``bare_ms``:
  forward, backward, Adam step, nothing else). Their ratio says how much the algorithm adds
  around that arithmetic. Off-policy algorithms must also compute a Bellman target for every
  Q step (no-gradient forward passes of the target networks): ``target_ms`` times those
  passes alone, and ``ratio_with_targets`` compares the update with bare step + targets, so
  what remains above 1 is Polyak averaging, sampling, logging and Python.

How the update time is found without touching the algorithms: the training env is
wrapped in a clock that notes the time of every ``env.step`` call. The interval between
two calls is one step of the agent (acting, storing); an interval that also holds an
update is longer by exactly the update's cost. So

    update time = (interval holding the update) - (median ordinary interval)

summed over the update intervals of the window (off-policy: every 50th step; on-policy:
the epoch boundary, which also holds the end-of-epoch logging). The number of gradient
steps is counted by swapping the algorithm module's ``Adam`` for a subclass that counts
``step()`` calls (an attribute increment, nothing measurable). TRPO's policy step is a
natural-gradient step (conjugate gradient, line search), not an Adam step: it is counted
as one policy step, so TRPO's ratio is not comparable with the others.

Each (algorithm, threads) measurement runs in a fresh Python process, with the thread
count set through ``SPINUP_TORCH_THREADS`` (read by ``spinup_lib.mpi.setup_pytorch_for_mpi``;
the worker calls that function itself too, since not every algorithm does), so that
nothing leaks from one measurement to the next.

Usage::

    python benchmarks/throughput.py                # full: about 5-8 minutes on 2 cores
    python benchmarks/throughput.py --quick        # a few seconds per measurement, to check it works
    python benchmarks/throughput.py --algos td3 sac --threads 1

Writes benchmarks/results/throughput.csv and throughput_machine.json, and prints a table.
"""
import argparse
import importlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from common import (REPO_ROOT, child_environment, describe_machine, log_tail, machine_info,
                    main_guard, print_table, results_path, write_csv, write_json)

ON_POLICY = ("vpg", "trpo", "ppo")
OFF_POLICY = ("ddpg", "td3", "sac")
ALGOS = ON_POLICY + OFF_POLICY

# Full and quick budgets. On-policy: epochs timed (plus one warm-up epoch before and one after,
# whose first step closes the last timed epoch). Off-policy: steps before the timed window
# (updates already running), the window, and when the policy starts acting and updates begin.
# bare_calls: bare steps per timing block (on-policy, off-policy); the median of 5 blocks is kept.
FULL = dict(steps_per_epoch=4000, timed_epochs=3, warmup_steps=1000, window_steps=3000, start_steps=500,
            bare_calls=(20, 200))
QUICK = dict(steps_per_epoch=400, timed_epochs=1, warmup_steps=200, window_steps=200, start_steps=100,
             bare_calls=(4, 20))

BARE_REPEATS = 5


# ----------------------------------------------------------------------------------------------
# Instruments (used inside the worker process)
# ----------------------------------------------------------------------------------------------
class StepClock:
    """Notes the time of every env.step call, and the optimizers' step counts at chosen steps.

    Args:
        total_steps (int): how many step times to keep.
        snapshot_at: step indices at which to note how many steps each optimizer has taken.
        optimizers (list): the counting optimizers, filled as the algorithm builds them.
    """

    def __init__(self, total_steps, snapshot_at, optimizers):
        self.times = np.full(total_steps, np.nan)
        self.count = 0
        self.snapshot_at = set(snapshot_at)
        self.optimizers = optimizers
        self.snapshots = {}  # step index -> tuple of step counts, one per optimizer

    def tick(self):
        if self.count < len(self.times):
            self.times[self.count] = time.perf_counter()
        if self.count in self.snapshot_at:
            self.snapshots[self.count] = tuple(opt.steps_taken for opt in self.optimizers)
        self.count += 1


def clocked_env_fn(env_id, clock):
    """An env_fn whose first env (the algorithm's training env) reports its steps to ``clock``.

    The test env, built second, is left alone.
    """
    import gymnasium as gym

    from spinup_lib.envs import make_env_fn

    make = make_env_fn(env_id)
    built = []

    class ClockedEnv(gym.Wrapper):
        def step(self, action):
            clock.tick()
            return self.env.step(action)

        @property
        def spec(self):  # the env's own spec: the clock is no part of the saved agent's env
            return self.env.spec

    def env_fn():
        env = make()
        if not built:
            env = ClockedEnv(env)
        built.append(env)
        return env

    return env_fn


def install_counting_adam(algo_module):
    """Swap ``algo_module.Adam`` for an Adam that counts its steps.

    Returns the list that collects every such optimizer the algorithm builds, in order.
    """
    import torch

    instances = []

    class CountingAdam(torch.optim.Adam):
        def __init__(self, params, *args, **kwargs):
            super().__init__(params, *args, **kwargs)
            self.n_params = sum(p.numel() for group in self.param_groups for p in group["params"])
            self.steps_taken = 0
            instances.append(self)

        def step(self, *args, **kwargs):
            self.steps_taken += 1
            return super().step(*args, **kwargs)

    algo_module.Adam = CountingAdam
    return instances


# ----------------------------------------------------------------------------------------------
# Bare PyTorch steps: forward, backward, Adam step, on the algorithm's own networks
# ----------------------------------------------------------------------------------------------
def time_per_call(fn, calls, repeats=BARE_REPEATS):
    """Median over ``repeats`` blocks of the mean time of one ``fn()`` call, in seconds."""
    for _ in range(max(3, calls // 10)):  # warm-up: allocator, lazy initialisation
        fn()
    blocks = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        blocks.append((time.perf_counter() - start) / calls)
    return float(np.median(blocks))


def bare_step_times(algo, env_id, batch_size, calls):
    """Seconds of one bare step per trained module: {'pi': s, 'v': s} or {'pi': s, 'q': s}.

    The networks are the algorithm's default actor-critic for the env's spaces. Each bare
    step is the differentiable graph of that optimizer's loss and nothing else:
    on-policy pi: log pi(a|s) on the batch; v: V(s). Off-policy q: every Q function on
    (s, a); pi: the policy's action fed to the (frozen) Q function(s), as the policy loss
    needs (SAC: reparameterised sample, log-probability and both Q functions).
    Off-policy, also 'target': the no-gradient forward passes of one Bellman target, which
    every Q step needs on top of its gradient step (timed separately, not counted as bare).
    Returns also the parameter counts of each trained module, to match the algorithm's optimizers.
    """
    from copy import deepcopy

    import torch

    from spinup_lib.envs import make_env_fn

    algo_fn = getattr(importlib.import_module(f"spinup_lib.algos.{algo}"), algo)
    actor_critic = inspect.signature(algo_fn).parameters["actor_critic"].default
    env = make_env_fn(env_id)()
    ac = actor_critic(env.observation_space, env.action_space)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()

    torch.manual_seed(0)
    obs = torch.randn(batch_size, obs_dim)
    act = torch.rand(batch_size, act_dim) * 2 - 1
    regression_target = torch.randn(batch_size)

    def adam_step(optimizer, loss_fn):
        def step():
            optimizer.zero_grad()
            loss_fn().backward()
            optimizer.step()
        return step

    if algo in ON_POLICY:
        def pi_loss():
            return -(ac.pi(obs, act)[1] * regression_target).mean()

        def v_loss():
            return ((ac.v(obs) - regression_target) ** 2).mean()

        times = dict(pi=time_per_call(adam_step(torch.optim.Adam(ac.pi.parameters()), pi_loss), calls),
                     v=time_per_call(adam_step(torch.optim.Adam(ac.v.parameters()), v_loss), calls))
        return times, dict(pi=count_params(ac.pi), v=count_params(ac.v))

    q_modules = [ac.q] if algo == "ddpg" else [ac.q1, ac.q2]
    q_params = [p for q in q_modules for p in q.parameters()]
    # The policy step differentiates through the Q function(s) without training them: frozen copies.
    frozen = [deepcopy(q).requires_grad_(False) for q in q_modules]

    def smallest_q(o, a):
        return frozen[0](o, a) if len(frozen) == 1 else torch.min(frozen[0](o, a), frozen[1](o, a))

    def q_loss():
        return sum(((q(obs, act) - regression_target) ** 2).mean() for q in q_modules)

    def pi_loss():
        if algo == "sac":
            a, logp = ac.pi(obs)
            return (0.2 * logp - smallest_q(obs, a)).mean()
        return -frozen[0](obs, ac.pi(obs)).mean()

    # Not a gradient step, but work every Q step must do: the Bellman target's forward passes
    # (the next action from the target policy, SAC: from the current one; the target Q functions).
    next_obs = torch.randn(batch_size, obs_dim)

    def bellman_target():
        with torch.no_grad():
            next_act = ac.pi(next_obs)[0] if algo == "sac" else ac.pi(next_obs)
            return smallest_q(next_obs, next_act)

    times = dict(q=time_per_call(adam_step(torch.optim.Adam(q_params), q_loss), calls),
                 pi=time_per_call(adam_step(torch.optim.Adam(ac.pi.parameters()), pi_loss), calls),
                 target=time_per_call(bellman_target, calls))
    return times, dict(pi=count_params(ac.pi), q=sum(p.numel() for p in q_params))


def count_params(module):
    return sum(p.numel() for p in module.parameters())


def optimizer_kinds(optimizers, sizes):
    """Name each counted optimizer ('pi', 'v' or 'q') by matching its parameter count."""
    by_size = {n: kind for kind, n in sizes.items()}
    kinds = []
    for optimizer in optimizers:
        if optimizer.n_params not in by_size:
            raise RuntimeError(f"an optimizer over {optimizer.n_params} parameters matches none of "
                               f"the default networks {sizes}: the algorithm's networks changed?")
        kinds.append(by_size[optimizer.n_params])
    return kinds


# ----------------------------------------------------------------------------------------------
# The worker: one algorithm, one thread count, in its own process
# ----------------------------------------------------------------------------------------------
def measure(algo, env_id, budget):
    """Train ``algo`` briefly under the clock; return the measurements as a dict."""
    import torch

    from spinup_lib.mpi import setup_pytorch_for_mpi

    threads = setup_pytorch_for_mpi()  # reads SPINUP_TORCH_THREADS, as the on-policy algorithms do
    algo_module = importlib.import_module(f"spinup_lib.algos.{algo}")
    algo_fn = getattr(algo_module, algo)
    defaults = {name: p.default for name, p in inspect.signature(algo_fn).parameters.items()}
    optimizers = install_counting_adam(algo_module)
    output_dir = tempfile.mkdtemp(prefix=f"throughput_{algo}_")
    spe = budget["steps_per_epoch"]

    if algo in ON_POLICY:
        timed = budget["timed_epochs"]
        epochs = timed + 2  # warm-up epoch 0, timed epochs 1..timed, epoch timed+1 closes the last
        bounds = [k * spe for k in range(1, timed + 2)]  # first step of epochs 1..timed+1
        clock = StepClock(epochs * spe, snapshot_at=bounds, optimizers=optimizers)
        kwargs = dict(steps_per_epoch=spe, epochs=epochs)
        batch_size = spe
    else:
        w0 = budget["warmup_steps"]
        w1 = w0 + budget["window_steps"]
        bounds = [w0, w1]
        clock = StepClock(w1 + 1, snapshot_at=bounds, optimizers=optimizers)
        # One epoch holding the window, and one more step so the window's last interval closes.
        kwargs = dict(steps_per_epoch=w1 + 1, epochs=1, start_steps=budget["start_steps"],
                      update_after=budget["start_steps"], num_test_episodes=1)
        batch_size = defaults["batch_size"]

    started = time.perf_counter()
    try:
        algo_fn(clocked_env_fn(env_id, clock), seed=0, logger_kwargs=dict(output_dir=output_dir), **kwargs)
    finally:
        shutil.rmtree(output_dir, ignore_errors=True)  # the run's files are of no interest here
    run_seconds = time.perf_counter() - started
    threads_after = torch.get_num_threads()

    intervals = np.diff(clock.times)  # intervals[t] = time from step t's call to step t+1's
    if algo in ON_POLICY:
        span = clock.times[bounds[-1]] - clock.times[bounds[0]]
        steps_per_s = (bounds[-1] - bounds[0]) / span
        update_s, ordinary = [], []
        for k in range(len(bounds) - 1):
            epoch = intervals[bounds[k]:bounds[k + 1] - 1]  # the epoch's ordinary intervals
            base = np.median(epoch)
            ordinary.append(base)
            update_s.append(intervals[bounds[k + 1] - 1] - base)
        update_seconds = float(np.sum(update_s))
        base_step = float(np.median(ordinary))
    else:
        window = np.arange(bounds[0], bounds[1])
        span = clock.times[bounds[1]] - clock.times[bounds[0]]
        steps_per_s = len(window) / span
        every = defaults["update_every"]
        holds_update = (window % every == 0) & (window >= kwargs["update_after"])
        base_step = float(np.median(intervals[window[~holds_update]]))
        update_seconds = float(np.sum(intervals[window[holds_update]] - base_step))

    first, last = clock.snapshots[bounds[0]], clock.snapshots[bounds[-1]]
    steps_by_optimizer = [b - a for a, b in zip(first, last)]
    bare, sizes = bare_step_times(algo, env_id, batch_size, calls=budget["bare_calls"][algo in OFF_POLICY])
    kinds = optimizer_kinds(optimizers, sizes)
    grad_steps = {kind: 0 for kind in sizes}  # counted per trained module: pi, v or q
    for kind, n in zip(kinds, steps_by_optimizer):
        grad_steps[kind] += n
    if algo == "trpo":
        grad_steps["pi"] += budget["timed_epochs"]  # one natural-gradient policy step per epoch

    bare_seconds = sum(grad_steps[kind] * bare[kind] for kind in grad_steps)
    # Off-policy: the bare steps plus the Bellman targets' forward passes, one per Q step.
    target_seconds = grad_steps.get("q", 0) * bare.get("target", 0.0)
    if algo in ON_POLICY:
        # One figure per gradient step, whatever the network: the epoch's update over its steps.
        n_updates = sum(grad_steps.values())
        unit = "Adam step (pi or v; TRPO: its natural step counts as one)"
    else:
        # One call of the algorithm's update(): a Q step and its share of policy steps.
        n_updates = grad_steps["q"]
        unit = "update() call: one Q step + policy step share"
    return dict(
        algo=algo, env=env_id, torch_threads=threads, torch_threads_after_run=threads_after,
        steps_per_s=steps_per_s, steps_per_s_without_updates=1.0 / base_step,
        timed_steps=int(bounds[-1] - bounds[0]), timed_seconds=float(span),
        grad_steps=int(n_updates), pi_steps=int(grad_steps["pi"]),
        other_steps=int(sum(n for kind, n in grad_steps.items() if kind != "pi")),
        update_ms=1000 * update_seconds / n_updates, bare_ms=1000 * bare_seconds / n_updates,
        ratio=update_seconds / bare_seconds,
        # On-policy updates have no Bellman targets: left empty rather than 0.
        target_ms=1000 * target_seconds / n_updates if algo in OFF_POLICY else None,
        ratio_with_targets=update_seconds / (bare_seconds + target_seconds) if algo in OFF_POLICY else None,
        bare_pi_ms=1000 * bare["pi"], bare_other_ms=1000 * bare.get("v", bare.get("q")),
        batch_size=int(batch_size), per=unit, run_seconds=run_seconds,
        # Other busy processes distort every figure: the load says whether a row can be trusted.
        load_average_1min=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    )


def run_worker(algo, threads, env_id, quick, log_dir):
    """Measure one (algorithm, threads) pair in a fresh Python process; return its dict."""
    result_file = os.path.join(log_dir, f"{algo}_t{threads}.json")
    log_file = os.path.join(log_dir, f"{algo}_t{threads}.log")
    command = [sys.executable, os.path.abspath(__file__), "--worker", algo, "--env", env_id,
               "--result_file", result_file] + (["--quick"] if quick else [])
    env = child_environment(torch_threads=threads)
    with open(log_file, "w", encoding="utf-8") as log:
        returncode = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
    if returncode != 0 or not os.path.exists(result_file):
        print(f"  {algo} with {threads} thread(s) FAILED (exit {returncode}); end of its log:")
        print(log_tail(log_file, lines=25))
        return None
    with open(result_file, encoding="utf-8") as f:
        return json.load(f)


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", choices=ALGOS, default=list(ALGOS),
                        help="algorithms to measure (default: all six)")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2],
                        help="torch thread counts to measure, each in a fresh process (default: 1 2)")
    parser.add_argument("--env", default="HalfCheetah-v5", help="environment id (default %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny budgets (seconds per measurement): checks the script works, "
                             "the figures mean little")
    parser.add_argument("--results_dir", default=None, help="where to write results (default benchmarks/results)")
    parser.add_argument("--worker", choices=ALGOS, help=argparse.SUPPRESS)
    parser.add_argument("--result_file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if any(t < 1 for t in args.threads):
        parser.error("--threads takes positive numbers of threads")
    return args


LEGEND = """
update_ms           the algorithm's time per gradient step (off-policy: per update() call,
                    one Q step and its share of policy steps)
bare_ms             forward + backward + Adam of the same networks, same batch, same steps
ratio               update_ms / bare_ms (target <= 1.3; TRPO's natural step makes its ratio n/a)
target_ms           off-policy: no-gradient forward passes of the Bellman targets
ratio_with_targets  update_ms / (bare_ms + target_ms)
"""
COLUMNS = ["algo", "torch_threads", "steps_per_s", "steps_per_s_without_updates", "grad_steps",
           "update_ms", "bare_ms", "ratio", "target_ms", "ratio_with_targets", "batch_size"]


def main():
    args = parse_args()
    budget = QUICK if args.quick else FULL
    if args.worker:
        result = measure(args.worker, args.env, budget)
        with open(args.result_file, "w", encoding="utf-8") as f:
            json.dump(result, f)
        return 0

    import pandas as pd

    info = machine_info()
    print(describe_machine(info))
    print(f"\nThroughput on {args.env}{' (QUICK budgets: figures are rough)' if args.quick else ''}; "
          f"budget {budget}\n")
    log_dir = tempfile.mkdtemp(prefix="throughput_logs_")
    rows = []
    started = time.perf_counter()
    for algo in args.algos:
        for threads in args.threads:
            print(f"measuring {algo} with {threads} torch thread(s)...", flush=True)
            result = run_worker(algo, threads, args.env, args.quick, log_dir)
            if result is None:
                continue
            if result["torch_threads_after_run"] != threads:
                print(f"  note: torch ran with {result['torch_threads_after_run']} threads at the end "
                      f"of the run, not {threads}")
            print(f"  {result['steps_per_s']:.0f} steps/s; {result['update_ms']:.2f} ms per gradient step, "
                  f"bare {result['bare_ms']:.2f} ms, ratio {result['ratio']:.2f}", flush=True)
            rows.append(result)
    all_done = len(rows) == len(args.algos) * len(args.threads)
    if all_done:
        shutil.rmtree(log_dir, ignore_errors=True)
    else:
        print(f"\nsome measurements failed: their logs are in {log_dir}")
    if not rows:
        return 1
    table = pd.DataFrame(rows)
    table["quick"] = args.quick
    print(f"\nAll measurements took {time.perf_counter() - started:.0f} s.\n")
    print_table(table[COLUMNS])
    print(LEGEND)
    write_csv(table, results_path("throughput.csv", args.results_dir))
    write_json(dict(info, env=args.env, quick=args.quick, budget=budget),
               results_path("throughput_machine.json", args.results_dir))
    return 0 if all_done else 1


if __name__ == "__main__":
    sys.exit(main_guard(main))
