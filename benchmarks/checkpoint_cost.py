"""What one off-policy checkpoint costs: MB written and seconds, at 100k and 1M stored steps.

An off-policy run (DDPG, TD3, SAC) checkpoints every epoch, and its replay buffer is by far the
largest thing it holds: for HalfCheetah (17 observation numbers, 6 action numbers, float32)
a million transitions take 168 MB. This script compares, for a buffer holding 100k and then 1M
transitions:

* **whole buffer** (how checkpoints were written before issue 11): the checkpoint holds the
  buffer's filled part, written to a temporary file, fsync'ed and renamed every epoch;
* **chunks** (``spinup_lib.checkpoint``): the checkpoint holds the networks, optimizers and
  counters, and the buffer's transitions new since the previous checkpoint go to one more
  append-only chunk file (one epoch: 4000 steps).

Both include what a SAC checkpoint holds besides the buffer (actor-critic, target networks,
two Adam optimizers, default 256x256 networks), so the figures are those of a real epoch's
checkpoint. The data are synthetic (random numbers): cost does not depend on the values.
Each figure is the median of ``--repeats`` checkpoints; wall time and the process's CPU time
are both given (the machine may be busy). Restoring the 1M-step buffer from its chunks is
timed too.

Usage (heavy: run it under the shared lock on a shared machine)::

    flock /tmp/spinup_heavy.lock python benchmarks/checkpoint_cost.py
    python benchmarks/checkpoint_cost.py --quick     # 10k and 100k steps, to check it works

Writes benchmarks/results/checkpoint_cost.csv and checkpoint_cost_machine.json.
"""
import argparse
import os
import os.path as osp
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

from common import describe_machine, machine_info, main_guard, print_table, results_path, write_csv, write_json

OBS_DIM, ACT_DIM = 17, 6  # HalfCheetah-v5
REPLAY_SIZE = 1_000_000  # the algorithms' default replay_size
STEPS_PER_EPOCH = 4000  # the algorithms' default: what one checkpoint adds


def folder_bytes(folder):
    return sum(osp.getsize(osp.join(root, name)) for root, _, names in os.walk(folder) for name in names)


def fill(buffer, count, rng):
    """Store ``count`` synthetic transitions at the buffer's pointer (as store() would, in bulk)."""
    slots = (buffer.ptr + np.arange(count)) % buffer.max_size
    buffer.obs_buf[slots] = rng.standard_normal((count, OBS_DIM), dtype=np.float32)
    buffer.obs2_buf[slots] = rng.standard_normal((count, OBS_DIM), dtype=np.float32)
    buffer.act_buf[slots] = rng.uniform(-1, 1, (count, ACT_DIM)).astype(np.float32)
    buffer.rew_buf[slots] = rng.standard_normal(count, dtype=np.float32)
    buffer.done_buf[slots] = 0.0
    buffer.ptr = int((buffer.ptr + count) % buffer.max_size)
    buffer.size = min(buffer.size + count, buffer.max_size)
    buffer.total_stored += count


def sac_networks():
    """What a SAC checkpoint holds besides the buffer: networks, targets, optimizers (one step taken)."""
    from copy import deepcopy

    from gymnasium.spaces import Box

    from spinup_lib import core

    ac = core.SACActorCritic(Box(-np.inf, np.inf, (OBS_DIM,)), Box(-1, 1, (ACT_DIM,)))
    ac_targ = deepcopy(ac)
    pi_optimizer = torch.optim.Adam(ac.pi.parameters(), lr=1e-3)
    q_optimizer = torch.optim.Adam(list(ac.q1.parameters()) + list(ac.q2.parameters()), lr=1e-3)
    obs, act = torch.randn(8, OBS_DIM), torch.rand(8, ACT_DIM)
    (ac.q1(obs, act).mean() + ac.q2(obs, act).mean() + ac.pi(obs)[0].mean()).backward()
    pi_optimizer.step()
    q_optimizer.step()
    return dict(ac=ac, ac_targ=ac_targ, pi_optimizer=pi_optimizer, q_optimizer=q_optimizer)


def timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(stored, repeats, workdir, rng):
    """Rows for the two ways of checkpointing a buffer holding ``stored`` transitions."""
    from spinup_lib import core
    from spinup_lib.checkpoint import atomic_torch_save, load_checkpoint, restore_checkpoint, save_checkpoint

    networks = sac_networks()
    buffer = core.ReplayBuffer(OBS_DIM, ACT_DIM, REPLAY_SIZE, seed=0)
    fill(buffer, stored - STEPS_PER_EPOCH * (repeats + 1), rng)
    rows = []

    # Whole buffer: the previous format, networks and the buffer's filled part in one file.
    old_dir = osp.join(workdir, f"whole_{stored}")
    os.makedirs(old_dir)
    samples = []
    for _ in range(repeats + 1):
        fill(buffer, STEPS_PER_EPOCH, rng)
        contents = {name: value.state_dict() for name, value in networks.items()}
        contents["replay_buffer"] = buffer.state_dict()
        samples.append(timed(lambda: atomic_torch_save(contents, osp.join(old_dir, "checkpoint.pt"))))
        del contents
    written = folder_bytes(old_dir)
    rows.append(dict(method="whole buffer", stored_steps=buffer.size, mb_written=written / 1e6,
                     wall_s=statistics.median(s[0] for s in samples), cpu_s=statistics.median(s[1] for s in samples)))

    # Chunks: a buffer saved for the first time goes to disk whole, once; then each epoch's steps.
    buffer = core.ReplayBuffer(OBS_DIM, ACT_DIM, REPLAY_SIZE, seed=0)
    fill(buffer, stored - STEPS_PER_EPOCH * repeats, rng)
    new_dir = osp.join(workdir, f"chunks_{stored}")
    first = timed(lambda: save_checkpoint(new_dir, "sac", 0, dict(networks, replay_buffer=buffer)))
    first_bytes = folder_bytes(new_dir)
    samples, sizes = [], []
    for epoch in range(1, repeats + 1):
        fill(buffer, STEPS_PER_EPOCH, rng)
        before = folder_bytes(new_dir) - osp.getsize(osp.join(new_dir, "checkpoint.pt"))
        samples.append(timed(lambda: save_checkpoint(new_dir, "sac", epoch, dict(networks, replay_buffer=buffer))))
        # Written this time: the new chunk and the (small) checkpoint file.
        sizes.append(folder_bytes(new_dir) - before)
    rows.append(dict(method="chunks (one epoch new)", stored_steps=buffer.size,
                     mb_written=statistics.median(sizes) / 1e6,
                     wall_s=statistics.median(s[0] for s in samples), cpu_s=statistics.median(s[1] for s in samples)))
    # Written only when a process saves a buffer it did not restore from this run's own chunks
    # (a run resumed from a copy elsewhere): then the whole buffer goes to one chunk, once.
    rows.append(dict(method="chunks: whole buffer once (not restored here)",
                     stored_steps=stored - STEPS_PER_EPOCH * repeats,
                     mb_written=first_bytes / 1e6, wall_s=first[0], cpu_s=first[1]))

    restored = core.ReplayBuffer(OBS_DIM, ACT_DIM, REPLAY_SIZE, seed=1)
    load = timed(lambda: restore_checkpoint(load_checkpoint(new_dir, rank=0), replay_buffer=restored))
    assert restored.total_stored == buffer.total_stored and np.array_equal(restored.obs_buf, buffer.obs_buf)
    rows.append(dict(method="chunks: restore on resume", stored_steps=restored.size, mb_written=0.0,
                     wall_s=load[0], cpu_s=load[1]))
    rows.append(dict(method="chunks: on disk in all", stored_steps=buffer.size,
                     mb_written=folder_bytes(new_dir) / 1e6, wall_s=np.nan, cpu_s=np.nan))
    return rows


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="stored transitions to measure at (default 100000 1000000)")
    parser.add_argument("--repeats", type=int, default=3, help="checkpoints per figure (median; default 3)")
    parser.add_argument("--quick", action="store_true", help="10k and 100k steps, 1 repeat: checks that it works")
    parser.add_argument("--results_dir", default=None, help="where to write results (default benchmarks/results)")
    parser.add_argument("--workdir", default=None,
                        help="where to write the checkpoints (default: a temporary folder, removed at the end)")
    return parser.parse_args()


def main():
    import pandas as pd

    args = parse_args()
    sizes, repeats = ([10_000, 100_000], 1) if args.quick else (args.sizes, args.repeats)
    torch.set_num_threads(1)
    info = machine_info()
    print(describe_machine(info))
    print(f"\nCheckpoint cost, obs {OBS_DIM} / act {ACT_DIM} float32, replay_size {REPLAY_SIZE}, "
          f"{STEPS_PER_EPOCH} new steps per checkpoint{' (QUICK)' if args.quick else ''}\n", flush=True)
    workdir = tempfile.mkdtemp(prefix="checkpoint_cost_", dir=args.workdir)
    rng = np.random.default_rng(0)
    rows = []
    try:
        for stored in sizes:
            print(f"measuring at {stored} stored steps...", flush=True)
            rows += measure(stored, repeats, workdir, rng)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table = pd.DataFrame(rows)
    table["quick"] = args.quick
    print()
    print_table(table)
    write_csv(table, results_path("checkpoint_cost.csv", args.results_dir))
    write_json(dict(info, sizes=sizes, repeats=repeats, steps_per_checkpoint=STEPS_PER_EPOCH, quick=args.quick,
                    workdir_filesystem=args.workdir or tempfile.gettempdir()),
               results_path("checkpoint_cost_machine.json", args.results_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main_guard(main))
