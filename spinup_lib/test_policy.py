"""Watch a saved agent act: load it with its environment, replay episodes, record mp4 video.

Command line (also ``python -m spinup_lib.run test_policy ...``)::

    python -m spinup_lib.test_policy data/ppo_cartpole/ppo_cartpole_s0 -n 10 -nr
    python -m spinup_lib.test_policy data/sac_cheetah/sac_cheetah_s0 -d --video cheetah.mp4

Every episode prints ``Episode k  EpRet x  EpLen y``; the averages follow. Without a display
nothing can be drawn on screen, so a note says so and the episodes still run; ``--video``
records them instead (MuJoCo draws off-screen through EGL, classic control through pygame).
A video plays in real time at up to 30 frames a second (only the steps it shows are drawn),
and a MuJoCo agent is filmed by its model's tracking camera, so it stays in the picture.

In a notebook::

    env, get_action = load_policy_and_env(run_dir, deterministic=True, render_mode="rgb_array")
    record_episodes(env, get_action, "agent.mp4")
    env.close()
"""
import argparse
import importlib
import inspect
import os
import os.path as osp
import math
import re
import secrets
import sys

import numpy as np
import torch

from spinup_lib.errors import UserError

SAVE_FOLDER = "pyt_save"
SAVE_FORMAT = 1
DEFAULT_FPS = 30  # for a video of an env that does not say how fast it runs
MAX_VIDEO_FPS = 30  # smooth enough; more frames only make software rendering slower
DEFAULT_FRAME_SIZE = (480, 320)  # (width, height) of MuJoCo video frames
MAX_FRAME_SIDE = 4096
X264_PRESET = "veryfast"  # H.264 encoder speed: "medium", ffmpeg's default, took as long as drawing a frame
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


def _resolve_class_paths(value, modules):
    """ac_kwargs as saved -> as the actor-critic wants them: a dotted path inside ``modules``
    (e.g. the activation, 'torch.nn.modules.activation.Tanh') becomes its class, which must be
    a torch module class; every other value is kept as it is. Nothing is called."""
    from spinup_lib.run_utils import in_modules, resolve_class

    if isinstance(value, dict):
        return {k: _resolve_class_paths(v, modules) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve_class_paths(v, modules) for v in value)
    if isinstance(value, str) and _DOTTED_NAME.match(value) and in_modules(value, modules):
        return resolve_class(value, modules, base=torch.nn.Module, what="a class in a saved agent's ac_kwargs")
    return value


def _refuse_unresolved_classes(ac_class, ac_kwargs, modules, model_path):
    """A dotted name left as text where the actor-critic expects a class (its default is one):
    it lies outside the allowed modules, so say so rather than fail inside the constructor."""
    try:
        defaults = {name: p.default for name, p in inspect.signature(ac_class).parameters.items()}
    except (TypeError, ValueError):
        return
    for key, value in ac_kwargs.items():
        if isinstance(value, str) and _DOTTED_NAME.match(value) and isinstance(defaults.get(key), type):
            raise UserError(f"{model_path} names {value} as {key}, outside the modules allowed for it "
                            f"({', '.join(modules)}): if you trust that module, allow it with "
                            "--allow_module MODULE (allow_modules=['MODULE'] in Python)")


def snapshot_iterations(save_dir):
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
    if not osp.isfile(latest) and not snapshot_iterations(save_dir):
        raise UserError(f"no saved agent under {fpath}: expected {latest} (give a run directory, "
                        "e.g. data/exp/exp_s0, of a run that saved its agent)")
    if itr is None or itr == "last" or (isinstance(itr, (int, np.integer)) and itr < 0):
        if not osp.isfile(latest):
            raise UserError(f"no latest agent {latest}: pick a snapshot with --itr, one of "
                            f"{', '.join(map(str, snapshot_iterations(save_dir)))}")
        return latest
    try:
        itr = int(itr)
    except (TypeError, ValueError):
        raise UserError(f"itr must be an epoch number or 'last', got {itr!r}") from None
    snapshot = osp.join(save_dir, f"model{itr}.pt")
    if not osp.isfile(snapshot):
        available = ", ".join(map(str, snapshot_iterations(save_dir))) or "none"
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


def load_actor_critic(fpath, itr="last", render_mode=None, env=None, allow_modules=()):
    """Rebuild a saved agent and the environment it was trained in.

    Args:
        fpath: the run directory (holding ``pyt_save/model.pt``), or a saved ``.pt`` file.
        itr: 'last' (or None, or -1) for the latest agent; an epoch number N for the snapshot
            ``pyt_save/model<N>.pt``.
        render_mode: passed to the rebuilt env: None, 'human' (a window) or 'rgb_array' (video).
        env: use this env instead of rebuilding the saved one; a gymnasium Env, or an env id
            (made with ``render_mode``). Needed when the run could not save its env.
        allow_modules: names of your own modules whose classes the saved agent may use
            (its actor-critic, its activation). Without them, the actor-critic class must come
            from spinup_lib and the classes in its ac_kwargs from torch.nn or spinup_lib: the
            file is data, so it does not get to choose which code runs.

    Returns ``(ac, env)``: the actor-critic (a ``torch.nn.Module`` in eval mode, with the saved
    weights) and the env. The caller closes the env.
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

    from spinup_lib.run_utils import TRUSTED_MODULES, check_module_names, resolve_class

    # Names in the file are resolved only inside allowed modules, and checked to be the right
    # kind of class, before anything is called.
    allow_modules = check_module_names(allow_modules)
    ac_class = resolve_class(saved.get("ac_class"), ("spinup_lib",) + allow_modules, base=torch.nn.Module,
                             what=f"the actor-critic of {model_path}")
    if not isinstance(saved.get("ac_kwargs") or {}, dict) or not isinstance(saved.get("state_dict"), dict):
        raise UserError(f"{model_path} is not a saved agent: its ac_kwargs or state_dict is not a dict")
    ac_kwargs = _resolve_class_paths(dict(saved.get("ac_kwargs") or {}), TRUSTED_MODULES + allow_modules)
    _refuse_unresolved_classes(ac_class, ac_kwargs, TRUSTED_MODULES + allow_modules, model_path)

    given_env = env is not None and not isinstance(env, str)
    env = _build_env(saved, env, render_mode, model_path)
    try:
        ac = ac_class(env.observation_space, env.action_space, **ac_kwargs)
        ac.load_state_dict(saved["state_dict"])
    except TypeError as err:  # ac_kwargs the class does not take
        if not given_env:
            env.close()
        raise UserError(f"cannot rebuild the agent of {model_path} with its saved ac_kwargs ({err})") from err
    except RuntimeError as err:  # load_state_dict: shapes or names do not match
        if not given_env:
            env.close()
        first_line = str(err).strip().splitlines()[0]
        raise UserError(f"the saved agent does not fit the environment {env.spec.id if env.spec else env} "
                        f"({first_line}): replay it in the env it was trained in") from err
    ac.eval()
    return ac, env


def load_policy_and_env(fpath, itr="last", deterministic=False, render_mode=None, env=None, allow_modules=()):
    """Load a saved agent and the environment it was trained in.

    Args:
        fpath, itr, render_mode, env, allow_modules: as for :func:`load_actor_critic`.
        deterministic: act with the most likely action (e.g. SAC's mean action) instead of
            sampling from the policy.

    Returns ``(env, get_action)``; ``get_action(obs)`` returns the agent's action as numpy.
    The caller closes the env.
    """
    ac, env = load_actor_critic(fpath, itr=itr, render_mode=render_mode, env=env, allow_modules=allow_modules)

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
        self.frame_size = None  # (width, height) of the first frame
        self._writer = None
        self._tmp = None

    def __enter__(self):
        import imageio.v2 as imageio

        folder = osp.dirname(osp.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        self._tmp = _new_file(folder, prefix=".partial-", suffix=".mp4")  # ffmpeg reads the extension
        # macro_block_size=2: keep the frame size (H.264 in yuv420p only needs even sides).
        self._writer = imageio.get_writer(self._tmp, fps=self.fps, codec="libx264", pixelformat="yuv420p",
                                          macro_block_size=2, ffmpeg_params=["-preset", X264_PRESET])
        return self

    def add(self, frame):
        if frame is None:
            raise UserError("the env returned no frame: make it with render_mode='rgb_array' to record video")
        frame = np.asarray(frame)
        if self.frame_size is None:
            self.frame_size = (frame.shape[1], frame.shape[0])
        self._writer.append_data(frame)
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


def _new_file(folder, prefix, suffix):
    """Create an empty file with a fresh name in ``folder``, readable as the umask allows
    (``tempfile.mkstemp`` makes it private, 0600, and the video would stay so)."""
    for _ in range(100):
        path = osp.join(folder, f"{prefix}{secrets.token_hex(6)}{suffix}")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"could not create a temporary file in {folder}")


def check_video_path(path, force=False):
    """Refuse a video path that is not .mp4, or that exists unless ``force``; return it."""
    path = os.fspath(path)
    if osp.splitext(path)[1].lower() != ".mp4":
        raise UserError(f"cannot record video to '{path}': use a file name ending in .mp4")
    if osp.exists(path) and not force:
        raise UserError(f"{path} already exists: choose another file name, or pass --force "
                        "(force=True) to replace it")
    return path


def parse_frame_size(text):
    """'480x320' -> (480, 320): a frame size as width x height in pixels."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match:
        raise UserError(f"frame size '{text}' is not understood: give it as WIDTHxHEIGHT, e.g. 480x320")
    return int(match.group(1)), int(match.group(2))


def _check_frame_size(frame_size):
    if isinstance(frame_size, str):
        frame_size = parse_frame_size(frame_size)
    try:
        width, height = (int(n) for n in frame_size)
    except (TypeError, ValueError):
        raise UserError(f"frame_size must be (width, height) in pixels, got {frame_size!r}") from None
    if not (16 <= width <= MAX_FRAME_SIDE and 16 <= height <= MAX_FRAME_SIDE):
        raise UserError(f"frame size {width}x{height} is out of range: each side must be 16 to "
                        f"{MAX_FRAME_SIDE} pixels")
    return width, height


def tracking_camera(model):
    """The name of a camera of the MuJoCo ``model`` that follows the agent, or None.

    Gymnasium's locomotion models (HalfCheetah, Hopper, Walker2d, Ant, Swimmer, Humanoid...)
    have one called 'track' that moves with the torso's centre of mass; their default view
    stays where the episode started, so a running agent leaves the picture. Models with a fixed
    base (InvertedPendulum, Reacher, Pusher) have none, and their default view shows everything.
    """
    import mujoco

    follows = {int(mujoco.mjtCamLight.mjCAMLIGHT_TRACK), int(mujoco.mjtCamLight.mjCAMLIGHT_TRACKCOM)}
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)
             if int(model.cam_mode[i]) in follows]
    if "track" in names:
        return "track"
    return next((name for name in names if name), None)


def prepare_video_rendering(env, frame_size=None, camera="auto"):
    """Set up a MuJoCo env (render_mode='rgb_array') to film: camera, frame size, quick shadows.

    Call it before the env draws its first frame. Envs that are not MuJoCo envs are left as
    they are (classic control and Box2D draw at their own fixed size, and show the whole scene).

    Args:
        env: a gymnasium env; for a MuJoCo env, its renderer is changed in place.
        frame_size: (width, height) in pixels, or 'WxH'; default ``DEFAULT_FRAME_SIZE``.
        camera: 'auto' follows the agent with the model's tracking camera when it has one
            (see :func:`tracking_camera`) and keeps the env's default view otherwise; 'default'
            keeps gymnasium's default view; any other string names a camera of the model.

    Returns a few words on the view, e.g. "camera 'track'", or None for an env left alone.

    Frames are drawn without shadows, floor reflections and multisampling: each of them adds
    work for every pixel, and with Mesa's software renderer a HalfCheetah frame took 42 ms of
    CPU with them at 480x320 (about 100 ms at gymnasium's 480x480) against 7 ms without, for a
    picture that differs little at video size (benchmarks/video_recording.py). These settings
    change the env's model: its look, not its physics.
    """
    import mujoco

    raw = env.unwrapped
    renderer = getattr(raw, "mujoco_renderer", None)
    if renderer is None:
        return None
    model = raw.model
    if renderer.viewer is None:  # the size can only change before the first frame
        width, height = _check_frame_size(DEFAULT_FRAME_SIZE if frame_size is None else frame_size)
        raw.width, raw.height = renderer.width, renderer.height = width, height
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, height)
        model.vis.quality.shadowsize = 0  # no shadow pass
        model.vis.quality.offsamples = 0  # no multisampling
        model.mat_reflectance[:] = 0  # no mirrored pass of the scene on the floor
    elif frame_size is not None and _check_frame_size(frame_size) != (renderer.width, renderer.height):
        raise UserError("the env has drawn frames already, so its frame size is fixed: choose the size "
                        "before the first render (or make the env with width=..., height=...)")
    if camera == "auto":
        camera = tracking_camera(model) or "default"
    if camera == "default":
        return "the env's default view"
    camera_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, str(camera))
    if camera_id < 0:
        names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)]
        raise UserError(f"the model has no camera named {camera!r}: use 'auto', 'default' or one of "
                        f"{', '.join(repr(n) for n in names if n) or 'none'}")
    renderer.camera_id = camera_id
    return f"camera {camera!r}"


def video_timing(env, fps=None):
    """How to film ``env``: ``(every, fps)``, a frame every ``every`` steps, played at ``fps``.

    The env's real-time rate is ``metadata['render_fps']`` steps per second (for MuJoCo envs,
    one over the duration of a step). By default frames are taken often enough for smooth motion
    but at most ``MAX_VIDEO_FPS`` per second, and played in real time: Hopper (125 steps/s)
    gives every 5th step at 25 fps, HalfCheetah (20 steps/s) every step at 20 fps. A chosen
    ``fps`` keeps real time by taking every ``round(rate / fps)``-th step; above the env's rate
    every step is a frame and the video plays faster than real time.
    """
    rate = env.metadata.get("render_fps")
    if fps is not None:
        if not (isinstance(fps, (int, float, np.integer, np.floating)) and fps > 0):
            raise UserError(f"fps must be a positive number of frames per second, got {fps!r}")
        return (max(1, round(rate / fps)) if rate else 1), fps
    if not rate:
        return 1, DEFAULT_FPS
    every = math.ceil(rate / MAX_VIDEO_FPS)
    return every, rate / every


def _play_episode(env, get_action, max_ep_len=None, seed=None, on_frame=None, every=1, on_step=None):
    """One episode; returns (return, length). ``on_frame`` gets the frames of the first
    observation and of every ``every``-th step after it (length // every + 1 frames); only
    those are drawn. ``on_step()`` is called after each step."""
    obs, _ = env.reset(seed=seed)
    if on_frame is not None:
        on_frame(env.render())
    ep_ret, ep_len = 0.0, 0
    while True:
        obs, reward, terminated, truncated, _ = env.step(get_action(obs))
        ep_ret += float(reward)
        ep_len += 1
        if on_frame is not None and ep_len % every == 0:
            on_frame(env.render())
        if on_step is not None:
            on_step()
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


def _episode_limit(env, max_ep_len):
    """The most steps an episode can last (for the progress bar), or None when unbounded."""
    limit = getattr(env.spec, "max_episode_steps", None) if getattr(env, "spec", None) else None
    if max_ep_len:
        limit = min(limit, max_ep_len) if limit else max_ep_len
    return limit


def _progress_bar(total, show):
    """A tqdm bar counting steps: in a notebook a widget, in a terminal a line on stderr.
    ``show=None`` shows it only where someone watches (a notebook, or stderr a terminal)."""
    from tqdm.auto import tqdm

    if show is None:
        from spinup_lib.notebook import in_notebook

        show = in_notebook() or sys.stderr.isatty()
    return tqdm(total=total, desc="recording", unit="step", disable=not show, leave=False, dynamic_ncols=True)


def run_policy(env, get_action, max_ep_len=None, num_episodes=100, render=True, video_path=None, fps=None,
               seed=None, force=False, verbose=True, frame_size=None, camera="auto", progress=None):
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
        fps: frames per second of the video. Default: real time at no more than ``MAX_VIDEO_FPS``
            frames per second, drawing only every k-th step (see :func:`video_timing`).
        seed: seeds the first reset and torch's sampling, so a run can be repeated exactly;
            None leaves both random.
        force: replace an existing ``video_path`` (refused otherwise).
        verbose: print the per-episode lines and the summary.
        frame_size: (width, height) of the frames of a MuJoCo env (default ``DEFAULT_FRAME_SIZE``);
            other envs draw at their own size.
        camera: the view of a MuJoCo env: 'auto' follows the agent (see :func:`prepare_video_rendering`).
        progress: show a progress bar while recording; None: when a notebook or terminal shows it.

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

    def play_all(on_frame=None, every=1, bar=None, limit=None):
        results = []
        for episode in range(int(num_episodes)):
            # Only the first reset is seeded: later episodes continue the env's random stream.
            ep_ret, ep_len = _play_episode(env, get_action, max_ep_len, seed if episode == 0 else None, on_frame,
                                           every, bar.update if bar is not None else None)
            results.append((ep_ret, ep_len))
            if bar is not None and limit and ep_len < limit:
                bar.update(limit - ep_len)  # an episode that ended early: the bar counts its steps as done
            if verbose:
                line = "Episode %d \t EpRet %.3f \t EpLen %d" % (episode, ep_ret, ep_len)
                if bar is not None:
                    bar.write(line, file=sys.stdout)  # above the bar, which stays at the bottom
                else:
                    print(line)
        return results

    if video_path is None:
        results = play_all()
    else:
        from spinup_lib.envs import configure_headless_rendering

        configure_headless_rendering()  # before the first frame (a no-op when MuJoCo chose already)
        view = prepare_video_rendering(env, frame_size, camera)
        every, fps = video_timing(env, fps)
        limit = _episode_limit(env, max_ep_len)
        with _Mp4Writer(video_path, fps, force) as video, \
                _progress_bar(limit * int(num_episodes) if limit else None, progress) as bar:
            results = play_all(video.add, every, bar, limit)
        if verbose:
            width, height = video.frame_size
            print(f"Saved {video.frames} frames ({width}x{height}{', ' + view if view else ''}, every "
                  f"{'step' if every == 1 else f'{every} steps'}, {fps:.4g} fps, {video.frames / fps:.1f} s) "
                  f"to {video_path}")
    if verbose:
        _print_summary(results)
    return results


def record_episodes(env, get_action, path, num_episodes=1, max_ep_len=None, fps=None, seed=None, force=False,
                    frame_size=None, camera="auto", progress=None):
    """Record episodes of ``get_action`` in ``env`` into the mp4 file ``path``; return the path.

    Args:
        env: a gymnasium env made with render_mode='rgb_array'.
        get_action: ``obs -> action``.
        path: the .mp4 file to write; an existing one is replaced only when ``force``.
        num_episodes: episodes to record, one after the other in the same video.
        max_ep_len: cut episodes after this many steps (None: the env's own limit).
        fps: frames per second; default real time at no more than ``MAX_VIDEO_FPS``, drawing
            every k-th step (see :func:`video_timing`).
        seed: seed of the first reset and of torch's sampling (None: random).
        force: replace an existing file.
        frame_size: (width, height) of a MuJoCo env's frames (default ``DEFAULT_FRAME_SIZE``).
        camera: 'auto' (follow the agent), 'default', or a camera of the MuJoCo model.
        progress: show a progress bar (None: in a notebook or terminal).

    Each episode of length L contributes ``L // k + 1`` frames (its first observation included).
    Prints nothing but the progress bar; the caller closes the env.
    """
    run_policy(env, get_action, max_ep_len=max_ep_len, num_episodes=num_episodes, render=False,
               video_path=path, fps=fps, seed=seed, force=force, verbose=False, frame_size=frame_size,
               camera=camera, progress=progress)
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


if __name__ == "__main__":
    try:
        sys.exit(main(prog="python -m spinup_lib.test_policy"))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
