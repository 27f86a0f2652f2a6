"""Recording video: an mp4 put in place only when complete, frame sizes, cameras that follow
the agent, and how often a frame is taken so that the video plays in real time."""
import math
import os
import os.path as osp
import re

import numpy as np

from spinup_lib.errors import UserError
from spinup_lib.run_files import AtomicFile

DEFAULT_FPS = 30  # for a video of an env that does not say how fast it runs
MAX_VIDEO_FPS = 30  # smooth enough; more frames only make software rendering slower
DEFAULT_FRAME_SIZE = (480, 320)  # (width, height) of MuJoCo video frames
MAX_FRAME_SIDE = 4096
X264_PRESET = "veryfast"  # H.264 encoder speed: "medium", ffmpeg's default, took as long as drawing a frame


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
        self._file = AtomicFile(self.path, suffix=".mp4")  # ffmpeg reads the format from the extension

    def __enter__(self):
        import imageio.v2 as imageio

        os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        # macro_block_size=2: keep the frame size (H.264 in yuv420p only needs even sides).
        self._writer = imageio.get_writer(self._file.__enter__(), fps=self.fps, codec="libx264",
                                          pixelformat="yuv420p", macro_block_size=2,
                                          ffmpeg_params=["-preset", X264_PRESET])
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
            self._file.discard()
            return False
        if not self.force and osp.exists(self.path):  # appeared while we were recording
            self._file.discard()
            raise UserError(f"{self.path} appeared while recording: not replacing it (use --force)")
        self._file.commit()
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

