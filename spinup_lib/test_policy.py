"""Replaying saved agents: the public path of :mod:`spinup_lib.replay`, where the code is.

Command line (also ``python -m spinup_lib.run test_policy ...``)::

    python -m spinup_lib.test_policy data/ppo_cartpole/ppo_cartpole_s0 -n 10 -nr

In a notebook::

    env, get_action = load_policy_and_env(run_dir, deterministic=True, render_mode="rgb_array")
    record_episodes(env, get_action, "agent.mp4")
    env.close()
"""
import sys

from spinup_lib.errors import exit_status
from spinup_lib.replay.agent import find_saved_agent, load_policy_and_env
from spinup_lib.replay.cli import build_parser, main
from spinup_lib.replay.display import has_display
from spinup_lib.replay.episodes import record_episodes, run_policy
from spinup_lib.replay.video import (
    DEFAULT_FPS,
    DEFAULT_FRAME_SIZE,
    MAX_FRAME_SIDE,
    MAX_VIDEO_FPS,
    X264_PRESET,
    check_video_path,
    parse_frame_size,
    prepare_video_rendering,
    tracking_camera,
    video_timing,
)

__all__ = ["find_saved_agent", "load_policy_and_env", "build_parser", "main", "has_display", "record_episodes",
           "run_policy", "DEFAULT_FPS", "DEFAULT_FRAME_SIZE", "MAX_FRAME_SIDE", "MAX_VIDEO_FPS", "X264_PRESET",
           "check_video_path", "parse_frame_size", "prepare_video_rendering", "tracking_camera", "video_timing"]

if __name__ == "__main__":
    sys.exit(exit_status(main, prog="python -m spinup_lib.test_policy"))
