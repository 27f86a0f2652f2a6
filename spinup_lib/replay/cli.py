"""The command line ``python -m spinup_lib.run test_policy`` (or ``python -m spinup_lib.test_policy``)."""
import argparse

from spinup_lib.errors import UserError
from spinup_lib.replay.agent import load_policy_and_env
from spinup_lib.replay.display import has_display
from spinup_lib.replay.episodes import run_policy
from spinup_lib.replay.video import DEFAULT_FRAME_SIZE, MAX_VIDEO_FPS, check_video_path, parse_frame_size


def build_parser(prog=None):
    parser = argparse.ArgumentParser(
        prog=prog or "python -m spinup_lib.run test_policy",
        description="Replay a saved agent: print each episode's return and length, show or record it.")
    parser.add_argument("fpath", metavar="PATH", help="run directory (holding pyt_save/model.pt)")
    parser.add_argument("--len", "-l", type=int, default=0,
                        help="cut episodes after L steps (default 0: only the env's own end)")
    parser.add_argument("--episodes", "-n", type=int, default=None,
                        help="episodes to play (default 100, or 1 with --video)")
    parser.add_argument("--norender", "-nr", action="store_true", help="do not draw the episodes")
    parser.add_argument("--itr", "-i", type=int, default=-1,
                        help="epoch of the snapshot pyt_save/model<I>.pt (default -1: the latest agent)")
    parser.add_argument("--deterministic", "-d", action="store_true",
                        help="take the most likely action instead of sampling (SAC's mean action)")
    parser.add_argument("--video", metavar="FILE.mp4", help="record the episodes into this mp4 file")
    parser.add_argument("--force", action="store_true", help="replace an existing --video file")
    parser.add_argument("--fps", type=float, default=None,
                        help="frames per second of the video (default: real time, at most "
                             f"{MAX_VIDEO_FPS} frames per second, drawing every k-th step)")
    parser.add_argument("--frame_size", metavar="WxH", type=parse_frame_size, default=None,
                        help="size of MuJoCo video frames in pixels (default %dx%d)" % DEFAULT_FRAME_SIZE)
    parser.add_argument("--camera", default="auto",
                        help="MuJoCo view: 'auto' follows the agent when the model has a tracking "
                             "camera, 'default' is gymnasium's view, or the name of a camera of the model")
    parser.add_argument("--env", metavar="ID", help="replay in this gymnasium env instead of the saved one")
    parser.add_argument("--seed", type=int, default=None, help="seed the episodes (default: random)")
    parser.add_argument("--allow_module", metavar="MODULE", action="append", default=[],
                        help="a module of your own whose classes the saved agent may use (e.g. its "
                             "actor-critic); it is imported. Repeat for several")
    return parser


def main(argv=None, prog=None):
    """Command-line entry point: ``main(['data/exp/exp_s0', '-n', '5', '-nr'])``.

    Returns the exit status, 0. Raises UserError for a mistake in the arguments (the caller
    prints it and exits 2).
    """
    args = build_parser(prog).parse_args(argv)
    if args.len < 0:
        raise UserError(f"--len must be 0 (no limit) or a number of steps, got {args.len}")
    num_episodes = args.episodes if args.episodes is not None else (1 if args.video else 100)
    if not args.video and (args.fps is not None or args.frame_size is not None or args.camera != "auto"):
        raise UserError("--fps, --frame_size and --camera set up a recording: add --video FILE.mp4")
    if args.fps is not None and not args.fps > 0:
        raise UserError(f"--fps must be a positive number of frames per second, got {args.fps:g}")
    if args.video:
        check_video_path(args.video, args.force)  # fail before loading anything
        render_mode = "rgb_array"
    elif not args.norender and has_display():
        render_mode = "human"
    else:
        render_mode = None
    env, get_action = load_policy_and_env(args.fpath, itr=args.itr, deterministic=args.deterministic,
                                          render_mode=render_mode, env=args.env, allow_modules=args.allow_module)
    try:
        run_policy(env, get_action, max_ep_len=args.len or None, num_episodes=num_episodes,
                   render=not args.norender, video_path=args.video, seed=args.seed, force=args.force,
                   fps=args.fps, frame_size=args.frame_size, camera=args.camera)
    finally:
        env.close()
    return 0

