"""Videos of agents, recorded with :mod:`spinup_lib.replay` and embedded in the notebook, so
they survive when it is exported or shared. An existing video is kept unless ``force=True``."""
import os
import os.path as osp
import tempfile

from spinup_lib.errors import UserError
from spinup_lib.run_files import first_free_path


def show_video(path, width=480):
    """Display an mp4 inline in a notebook, embedded so that it survives export.

    Args:
        path: the .mp4 file.
        width: width of the player, in pixels.

    Returns:
        IPython.display.Video: the last expression of a cell shows it.
    """
    from IPython.display import Video

    if not osp.isfile(path):
        raise UserError(f"no video file {path}: record one first (e.g. video_of_run(run_dir))")
    return Video(os.fspath(path), embed=True, width=width, html_attributes="controls loop autoplay muted")


def video_of_agent(env_fn, get_action, path=None, num_episodes=1, max_ep_len=None, seed=0, force=False,
                   width=480, **video_options):
    """Record ``get_action`` playing in a fresh env and show the video inline.

    Args:
        env_fn: builds the env; called as ``env_fn(render_mode='rgb_array')``
            (``spinup_lib.envs.make_env_fn(env_id)`` and ``functools.partial(gym.make, id)`` do).
        get_action: ``obs -> action``, e.g. from ``load_policy_and_env`` or your own policy.
        path: the .mp4 file to write; default a new file in a fresh temporary folder.
        num_episodes: episodes to record, one after the other.
        max_ep_len: cut episodes after this many steps (None: the env's own time limit).
        seed: seeds the first reset and torch's sampling, so the same agent gives the same
            video; None leaves them random.
        force: replace ``path`` if it exists (refused otherwise).
        width: width of the player, in pixels.
        **video_options: ``fps``, ``frame_size``, ``camera``, ``progress`` of
            :func:`spinup_lib.test_policy.record_episodes` (by default MuJoCo agents are
            followed by their tracking camera, filmed in real time at up to 30 fps).

    Returns:
        IPython.display.Video of the recording (its file is ``.filename``).

    Raises:
        UserError: ``path`` exists and ``force`` is False, or does not end in .mp4.
    """
    from spinup_lib.replay.episodes import record_episodes
    from spinup_lib.replay.video import check_video_path

    if path is None:
        path = osp.join(tempfile.mkdtemp(prefix="spinup_video_"), "agent.mp4")
    check_video_path(path, force)  # before building anything
    env = env_fn(render_mode="rgb_array")
    try:
        record_episodes(env, get_action, path, num_episodes=num_episodes, max_ep_len=max_ep_len,
                        seed=seed, force=force, **video_options)
    finally:
        env.close()
    return show_video(path, width=width)


def video_of_run(run_dir, path=None, itr="last", num_episodes=1, deterministic=True, seed=0, force=False,
                 width=480, **video_options):
    """Record the agent a run saved and show the video inline.

    Args:
        run_dir: the run's output directory (holding ``pyt_save/model.pt``).
        path: the .mp4 file to write; default ``<run_dir>/videos/agent.mp4``, or
            ``agent_1.mp4``, ``agent_2.mp4``... when that exists (an earlier video is never replaced).
        itr: 'last' for the latest agent, or an epoch N for the snapshot ``model<N>.pt``.
        num_episodes: episodes to record, one after the other.
        deterministic: take the most likely action rather than sampling one.
        seed: seeds the first reset and torch's sampling (None: random).
        force: replace an explicit ``path`` if it exists (refused otherwise).
        width: width of the player, in pixels.
        **video_options: ``fps``, ``frame_size``, ``camera``, ``progress`` of
            :func:`spinup_lib.test_policy.record_episodes`.

    Returns:
        IPython.display.Video of the recording (its file is ``.filename``).
    """
    from spinup_lib.replay.agent import load_policy_and_env
    from spinup_lib.replay.episodes import record_episodes
    from spinup_lib.replay.video import check_video_path

    if path is None:
        path = first_free_path(osp.join(run_dir, "videos", "agent.mp4"))
    check_video_path(path, force)
    env, get_action = load_policy_and_env(run_dir, itr=itr, deterministic=deterministic, render_mode="rgb_array")
    try:
        record_episodes(env, get_action, path, num_episodes=num_episodes, seed=seed, force=force,
                        **video_options)
    finally:
        env.close()
    return show_video(path, width=width)

