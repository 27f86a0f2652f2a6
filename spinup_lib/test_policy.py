"""Watch a saved agent act: load it with its environment, replay episodes, record mp4 video.

Command line (also ``python -m spinup_lib.run test_policy ...``)::

    python -m spinup_lib.test_policy data/ppo_cartpole/ppo_cartpole_s0 -n 10 -nr
    python -m spinup_lib.test_policy data/sac_cheetah/sac_cheetah_s0 -d --video cheetah.mp4

Every episode prints ``Episode k  EpRet x  EpLen y``; the averages follow. Without a display
nothing can be drawn on screen, so a note says so and the episodes still run; ``--video``
records them instead (MuJoCo draws off-screen through EGL, classic control through pygame).

In a notebook::

    env, get_action = load_policy_and_env(run_dir, deterministic=True, render_mode="rgb_array")
    record_episodes(env, get_action, "agent.mp4")
    env.close()
"""
import argparse
import importlib
import os
import os.path as osp
import re
import sys
import tempfile

import numpy as np
import torch

from spinup_lib.errors import UserError

SAVE_FOLDER = "pyt_save"
SAVE_FORMAT = 1
DEFAULT_FPS = 30
_DOTTED_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_SNAPSHOT_NAME = re.compile(r"^model(\d+)\.pt$")


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------
def has_display():
    """Whether a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def import_dotted_name(path):
    """The object a dotted path names, e.g. 'torch.nn.modules.activation.Tanh'.

    The longest importable module prefix is imported, the rest read with getattr: nothing is
    evaluated. Raises ImportError or AttributeError when the path names nothing.
    """
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            # Only "this prefix is not a module" means: try a shorter one. A module that
            # exists but fails to import is a real error.
            if err.name is not None and module_name.startswith(err.name):
                continue
            raise
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(f"no module found in {path!r}")


def _resolve_class_paths(value):
    """ac_kwargs as saved -> as the actor-critic wants them: dotted paths that name a class or
    function (e.g. the activation) are imported; every other value is kept as it is."""
    if isinstance(value, dict):
        return {k: _resolve_class_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve_class_paths(v) for v in value)
    if isinstance(value, str) and _DOTTED_NAME.match(value):
        try:
            obj = import_dotted_name(value)
        except (ImportError, AttributeError):
            return value  # a plain string that merely contains dots
        return obj if callable(obj) else value
    return value


def _snapshot_iterations(save_dir):
    """Epoch numbers of the ``model<N>.pt`` snapshots in ``save_dir``, sorted."""
    if not osp.isdir(save_dir):
        return []
    return sorted(int(m.group(1)) for m in map(_SNAPSHOT_NAME.match, os.listdir(save_dir)) if m)


def find_saved_agent(fpath, itr="last"):
    """The path of the saved agent file of a run directory.

    Args:
        fpath: a run directory (holding ``pyt_save/``), its ``pyt_save`` folder, or a ``.pt`` file.
        itr: 'last', None or a negative number for the latest agent (``model.pt``), or an epoch
            number N for the snapshot ``model<N>.pt``.
    """
    fpath = osp.expanduser(os.fspath(fpath))
    if osp.isfile(fpath) and fpath.endswith(".pt"):
        return fpath
    save_dir = fpath if osp.basename(osp.normpath(fpath)) == SAVE_FOLDER else osp.join(fpath, SAVE_FOLDER)
    latest = osp.join(save_dir, "model.pt")
    if not osp.isfile(latest) and not _snapshot_iterations(save_dir):
        raise UserError(f"no saved agent under {fpath}: expected {latest} (give a run directory, "
                        "e.g. data/exp/exp_s0, of a run that saved its agent)")
    if itr is None or itr == "last" or (isinstance(itr, (int, np.integer)) and itr < 0):
        if not osp.isfile(latest):
            raise UserError(f"no latest agent {latest}: pick a snapshot with --itr, one of "
                            f"{', '.join(map(str, _snapshot_iterations(save_dir)))}")
        return latest
    try:
        itr = int(itr)
    except (TypeError, ValueError):
        raise UserError(f"itr must be an epoch number or 'last', got {itr!r}") from None
    snapshot = osp.join(save_dir, f"model{itr}.pt")
    if not osp.isfile(snapshot):
        available = ", ".join(map(str, _snapshot_iterations(save_dir))) or "none"
        raise UserError(f"no snapshot for iteration {itr} in {save_dir}: available iterations: "
                        f"{available} (or -1 for the latest agent)")
    return snapshot


def _build_env(saved, env, render_mode, model_path):
    """The env to replay in: the given one, one made from an id, or the saved spec rebuilt."""
    if env is not None and not isinstance(env, str):
        return env
    make_kwargs = {} if render_mode is None else {"render_mode": render_mode}
    if isinstance(env, str):
        import gymnasium as gym

        from spinup_lib.envs import check_env_id

        check_env_id(env)
        return gym.make(env, **make_kwargs)
    spec_json = saved.get("env_spec")
    if spec_json is None:
        raise UserError(f"the environment of {model_path} could not be saved, so it cannot be rebuilt: "
                        "pass --env ENV_ID to test_policy, or env=<an env> to load_policy_and_env")
    from spinup_lib.envs import make_env_from_spec_json

    try:
        return make_env_from_spec_json(spec_json, **make_kwargs)
    except Exception as err:  # an entry point that no longer imports, a missing extra...
        raise UserError(f"could not rebuild the saved environment ({type(err).__name__}: {err}): "
                        "pass --env ENV_ID, or env=<an env> to load_policy_and_env") from err


def load_policy_and_env(fpath, itr="last", deterministic=False, render_mode=None, env=None):
    """Load a saved agent and the environment it was trained in.

    Args:
        fpath: the run directory (holding ``pyt_save/model.pt``), or a saved ``.pt`` file.
        itr: 'last' (or None, or -1) for the latest agent; an epoch number N for the snapshot
            ``pyt_save/model<N>.pt``.
        deterministic: act with the most likely action (e.g. SAC's mean action) instead of
            sampling from the policy.
        render_mode: passed to the rebuilt env: None, 'human' (a window) or 'rgb_array' (video).
        env: use this env instead of rebuilding the saved one; a gymnasium Env, or an env id
            (made with ``render_mode``). Needed when the run could not save its env.

    Returns ``(env, get_action)``; ``get_action(obs)`` returns the agent's action as numpy.
    The caller closes the env.
    """
    model_path = find_saved_agent(fpath, itr)
    try:
        saved = torch.load(model_path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated file, not a torch file, or objects weights_only refuses
        raise UserError(f"cannot read the saved agent {model_path} ({type(err).__name__}): "
                        "it is damaged or was not written by spinup_lib") from err
    if not isinstance(saved, dict) or saved.get("format") != SAVE_FORMAT:
        raise UserError(f"{model_path} is not a saved agent in format {SAVE_FORMAT}: "
                        "it was not written by this version of spinup_lib")

    try:
        ac_class = import_dotted_name(saved["ac_class"])
    except (ImportError, AttributeError) as err:
        raise UserError(f"cannot import the agent's class {saved['ac_class']} ({err}): "
                        "is the module that defined it installed?") from err
    if not (isinstance(ac_class, type) and issubclass(ac_class, torch.nn.Module)):
        raise UserError(f"{saved['ac_class']} in {model_path} is not a torch module class")
    ac_kwargs = _resolve_class_paths(dict(saved.get("ac_kwargs") or {}))

    given_env = env is not None and not isinstance(env, str)
    env = _build_env(saved, env, render_mode, model_path)
    try:
        ac = ac_class(env.observation_space, env.action_space, **ac_kwargs)
        ac.load_state_dict(saved["state_dict"])
    except RuntimeError as err:  # load_state_dict: shapes or names do not match
        if not given_env:
            env.close()
        first_line = str(err).strip().splitlines()[0]
        raise UserError(f"the saved agent does not fit the environment {env.spec.id if env.spec else env} "
                        f"({first_line}): replay it in the env it was trained in") from err
    ac.eval()

    def get_action(obs):
        with torch.no_grad():
            return ac.act(torch.as_tensor(obs, dtype=torch.float32), deterministic=deterministic)

    return env, get_action


# ----------------------------------------------------------------------------------------------
# Playing and recording
# ----------------------------------------------------------------------------------------------
class _Mp4Writer:
    """Streams frames into an mp4 (so long episodes need no memory) and only puts the file in
    place when the recording finished: a crash leaves no half-written video behind."""

    def __init__(self, path, fps, force=False):
        self.path = check_video_path(path, force)
        self.fps = fps
        self.force = force
        self.frames = 0
        self._writer = None
        self._tmp = None

    def __enter__(self):
        import imageio.v2 as imageio

        folder = osp.dirname(osp.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        # ffmpeg picks the container from the extension, so the temporary name ends in .mp4.
        fd, self._tmp = tempfile.mkstemp(prefix=".partial-", suffix=".mp4", dir=folder)
        os.close(fd)
        # macro_block_size=2: keep the frame size (H.264 in yuv420p only needs even sides).
        self._writer = imageio.get_writer(self._tmp, fps=self.fps, codec="libx264",
                                          pixelformat="yuv420p", macro_block_size=2)
        return self

    def add(self, frame):
        if frame is None:
            raise UserError("the env returned no frame: make it with render_mode='rgb_array' to record video")
        self._writer.append_data(np.asarray(frame))
        self.frames += 1

    def __exit__(self, exc_type, exc, tb):
        self._writer.close()
        if exc_type is not None or self.frames == 0:
            os.remove(self._tmp)
            return False
        if not self.force and osp.exists(self.path):  # appeared while we were recording
            os.remove(self._tmp)
            raise UserError(f"{self.path} appeared while recording: not replacing it (use --force)")
        os.replace(self._tmp, self.path)
        return False


def check_video_path(path, force=False):
    """Refuse a video path that is not .mp4, or that exists unless ``force``; return it."""
    path = os.fspath(path)
    if osp.splitext(path)[1].lower() != ".mp4":
        raise UserError(f"cannot record video to '{path}': use a file name ending in .mp4")
    if osp.exists(path) and not force:
        raise UserError(f"{path} already exists: choose another file name, or pass --force "
                        "(force=True) to replace it")
    return path


def _play_episode(env, get_action, max_ep_len=None, seed=None, on_frame=None):
    """One episode; returns (return, length). ``on_frame`` gets every rendered frame,
    the first observation's included (so a video holds length + 1 frames)."""
    obs, _ = env.reset(seed=seed)
    if on_frame is not None:
        on_frame(env.render())
    ep_ret, ep_len = 0.0, 0
    while True:
        obs, reward, terminated, truncated, _ = env.step(get_action(obs))
        ep_ret += float(reward)
        ep_len += 1
        if on_frame is not None:
            on_frame(env.render())
        if terminated or truncated or (max_ep_len and ep_len >= max_ep_len):
            return ep_ret, ep_len


def _print_summary(results):
    returns = np.array([r for r, _ in results])
    lengths = np.array([n for _, n in results])
    rows = [("AverageEpRet", returns.mean()), ("StdEpRet", returns.std()), ("MaxEpRet", returns.max()),
            ("MinEpRet", returns.min()), ("AverageEpLen", lengths.mean())]
    print("-" * 28)
    for key, number in rows:
        print(f"{key:>14s} | {number:.4g}")
    print("-" * 28)


def run_policy(env, get_action, max_ep_len=None, num_episodes=100, render=True, video_path=None, fps=None,
               seed=None, force=False, verbose=True):
    """Play ``num_episodes`` episodes; print each one's return and length, then the averages.

    Args:
        env: a gymnasium env. For on-screen rendering make it with render_mode='human'; for
            video with render_mode='rgb_array'.
        get_action: ``obs -> action``, as from load_policy_and_env.
        max_ep_len: cut episodes after this many steps; 0 or None keeps only the env's own
            end (termination or its time limit).
        num_episodes: how many episodes to play.
        render: show the episodes. A 'human' env draws itself at every step; any other env
            cannot be shown, and a one-line note says why.
        video_path: record all the episodes, one after the other, into this .mp4 file.
        fps: frames per second of the video (default: the env's render_fps, else 30).
        seed: seeds the first reset and torch's sampling, so a run can be repeated exactly;
            None leaves both random.
        force: replace an existing ``video_path`` (refused otherwise).
        verbose: print the per-episode lines and the summary.

    Returns the list of ``(episode_return, episode_length)``.
    """
    if int(num_episodes) < 1:
        raise UserError(f"the number of episodes must be at least 1, got {num_episodes}")
    if video_path is not None:
        check_video_path(video_path, force)
        if getattr(env, "render_mode", None) != "rgb_array":
            raise UserError("recording video needs an env made with render_mode='rgb_array' "
                            "(load_policy_and_env(..., render_mode='rgb_array'))")
    elif render and getattr(env, "render_mode", None) != "human":
        why = "there is no display" if not has_display() else "the env was not made with render_mode='human'"
        print(f"note: not rendering because {why}; use --video FILE.mp4 to record the episodes "
              "(--norender hides this note)")
    if seed is not None:
        torch.manual_seed(seed)

    def play_all(on_frame=None):
        results = []
        for episode in range(int(num_episodes)):
            # Only the first reset is seeded: later episodes continue the env's random stream.
            ep_ret, ep_len = _play_episode(env, get_action, max_ep_len, seed if episode == 0 else None, on_frame)
            results.append((ep_ret, ep_len))
            if verbose:
                print("Episode %d \t EpRet %.3f \t EpLen %d" % (episode, ep_ret, ep_len))
        return results

    if video_path is None:
        results = play_all()
    else:
        fps = fps or env.metadata.get("render_fps") or DEFAULT_FPS
        with _Mp4Writer(video_path, fps, force) as video:
            results = play_all(video.add)
        if verbose:
            print(f"Saved {video.frames} frames ({video.frames / fps:.1f} s at {fps} fps) to {video_path}")
    if verbose:
        _print_summary(results)
    return results


def record_episodes(env, get_action, path, num_episodes=1, max_ep_len=None, fps=None, seed=None, force=False):
    """Record episodes of ``get_action`` in ``env`` into the mp4 file ``path``; return the path.

    Args:
        env: a gymnasium env made with render_mode='rgb_array'.
        get_action: ``obs -> action``.
        path: the .mp4 file to write; an existing one is replaced only when ``force``.
        num_episodes: episodes to record, one after the other in the same video.
        max_ep_len: cut episodes after this many steps (None: the env's own limit).
        fps: frames per second (default: the env's render_fps, else 30).
        seed: seed of the first reset and of torch's sampling (None: random).
        force: replace an existing file.

    Each episode contributes its length + 1 frames (the first observation included).
    Prints nothing; the caller closes the env.
    """
    run_policy(env, get_action, max_ep_len=max_ep_len, num_episodes=num_episodes, render=False,
               video_path=path, fps=fps, seed=seed, force=force, verbose=False)
    return os.fspath(path)


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
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
    parser.add_argument("--env", metavar="ID", help="replay in this gymnasium env instead of the saved one")
    parser.add_argument("--seed", type=int, default=None, help="seed the episodes (default: random)")
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
    if args.video:
        check_video_path(args.video, args.force)  # fail before loading anything
        render_mode = "rgb_array"
    elif not args.norender and has_display():
        render_mode = "human"
    else:
        render_mode = None
    env, get_action = load_policy_and_env(args.fpath, itr=args.itr, deterministic=args.deterministic,
                                          render_mode=render_mode, env=args.env)
    try:
        run_policy(env, get_action, max_ep_len=args.len or None, num_episodes=num_episodes,
                   render=not args.norender, video_path=args.video, seed=args.seed, force=args.force)
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(prog="python -m spinup_lib.test_policy"))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
