"""Playing an agent's episodes: each one's return and length printed, shown on screen or
recorded to mp4."""
import os
import sys

import numpy as np
import torch

from spinup_lib.errors import UserError
from spinup_lib.replay.display import has_display, in_notebook
from spinup_lib.replay.video import _Mp4Writer, check_video_path, prepare_video_rendering, video_timing


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

