"""What recording a video of an agent costs: the README's test_policy example, and one frame.

1. **The README example**, exactly as a user types it:
   ``python -m spinup_lib.run test_policy RUN_DIR --video cheetah.mp4 -n 3`` on HalfCheetah-v5
   (three episodes of 1000 steps), for an untrained agent saved as a run saves it (the cost does
   not depend on how well the agent runs). Wall time and CPU time of the whole command (all its
   threads and child processes: Mesa's renderer and ffmpeg run beside Python), the frames, their
   size and rate, and the file's size.
2. **One frame**, drawn and encoded, in milliseconds of CPU time: MuJoCo's and gymnasium's
   defaults (480x480, shadows, floor reflections, 4x multisampling, x264 preset "medium": how
   videos were made before issue 11) against ``spinup_lib.test_policy``'s settings.

Usage (heavy: run it under the shared lock on a shared machine)::

    flock /tmp/spinup_heavy.lock python benchmarks/video_recording.py
    python benchmarks/video_recording.py --quick     # one short episode, to check it works

Writes benchmarks/results/video_recording.csv and video_recording_machine.json; the videos go
to a fresh temporary folder, removed at the end.
"""
import argparse
import os
import os.path as osp
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import pandas as pd

from common import describe_machine, machine_info, main_guard, print_table, results_path, write_csv, write_json

ENV_ID = "HalfCheetah-v5"


def save_untrained_agent(run_dir):
    import torch

    from spinup_lib.core import MLPActorCritic
    from spinup_lib.envs import make_env_fn
    from spinup_lib.logx import Logger

    env = make_env_fn(ENV_ID)()
    torch.manual_seed(0)
    ac = MLPActorCritic(env.observation_space, env.action_space, hidden_sizes=(64, 64))
    logger = Logger(output_dir=run_dir)
    logger.setup_pytorch_saver(ac, dict(hidden_sizes=(64, 64)), env)
    logger.save_state()
    logger.close()
    env.close()


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def readme_example(folder, quick):
    """Time the README's command in a fresh process; one row of figures."""
    import imageio.v2 as imageio

    run_dir = osp.join(folder, "cheetah_s0")
    save_untrained_agent(run_dir)
    video = osp.join(folder, "cheetah.mp4")
    episodes = ["-n", "1", "-l", "50"] if quick else ["-n", "3"]
    command = [sys.executable, "-m", "spinup_lib.run", "test_policy", run_dir, "--video", video, *episodes]
    cpu_before, start = children_cpu_seconds(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder)
    wall, cpu = time.perf_counter() - start, children_cpu_seconds() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"the command failed:\n{done.stdout}\n{done.stderr}")
    reader = imageio.get_reader(video)
    count, meta = reader.count_frames(), reader.get_meta_data()
    reader.close()
    width, height = meta["size"]
    return dict(measure="README example", command=" ".join(["python"] + command[1:]).replace(folder + "/", ""),
                frames=count, frame_size=f"{width}x{height}", fps=meta["fps"],
                video_seconds=round(count / meta["fps"], 1), wall_s=round(wall, 1), cpu_s=round(cpu, 1),
                cpu_ms_per_frame=round(1000 * cpu / count, 1), file_mb=round(osp.getsize(video) / 2**20, 2))


def one_frame_costs(folder, frames):
    """CPU milliseconds per frame (drawing; drawing and encoding), before and now."""
    import gymnasium as gym
    import imageio.v2 as imageio

    from spinup_lib import test_policy

    def cpu_now():
        times = os.times()  # this process's threads (Mesa draws on several) and ffmpeg, once waited for
        return times.user + times.system + times.children_user + times.children_system

    rows = []
    for label, prepare, preset in (("before: gymnasium defaults, x264 medium", None, "medium"),
                                   ("now: spinup_lib.test_policy", test_policy.prepare_video_rendering,
                                    test_policy.X264_PRESET)):
        env = gym.make(ENV_ID, render_mode="rgb_array")
        if prepare is not None:
            prepare(env)
        env.reset(seed=0)
        env.action_space.seed(0)
        first = env.render()  # the renderer's set-up is not part of a frame's cost
        costs = {}
        for encode in (False, True):
            path = osp.join(folder, f"frames_{len(rows)}_{encode}.mp4")
            writer = imageio.get_writer(path, fps=20, codec="libx264", pixelformat="yuv420p", macro_block_size=2,
                                        ffmpeg_params=["-preset", preset]) if encode else None
            start = cpu_now()
            for _ in range(frames):
                env.step(env.action_space.sample())
                frame = env.render()
                if writer is not None:
                    writer.append_data(frame)
            if writer is not None:
                writer.close()
            costs[encode] = 1000 * (cpu_now() - start) / frames
        env.close()
        rows.append(dict(measure=f"one frame, {label}", frame_size=f"{first.shape[1]}x{first.shape[0]}",
                         frames=frames, cpu_ms_per_frame_drawn=round(costs[False], 1),
                         cpu_ms_per_frame=round(costs[True], 1)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one 50-step episode and 30 frames: checks it works")
    parser.add_argument("--results_dir", default=None, help="where to write the results (default benchmarks/results)")
    args = parser.parse_args()

    info = machine_info()
    print(describe_machine(info))
    folder = tempfile.mkdtemp(prefix="video_recording_")
    try:
        rows = [readme_example(folder, args.quick)]
        rows += one_frame_costs(folder, frames=30 if args.quick else 300)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    table = pd.DataFrame(rows)
    print_table(table.drop(columns=["command"]))
    print(f"command: {rows[0]['command']}")
    write_csv(table, results_path("video_recording.csv", args.results_dir))
    write_json(info, results_path("video_recording_machine.json", args.results_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main_guard(main))
