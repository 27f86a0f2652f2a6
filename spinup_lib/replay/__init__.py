"""Watch a saved agent act: load it with its environment, replay episodes, record mp4 video.

Its public path is :mod:`spinup_lib.test_policy`. Here: ``agent`` (loading a saved agent),
``episodes`` (playing and recording them), ``video`` (mp4 files, cameras, frame timing),
``display`` (where output can be shown), ``cli`` (the command line).

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
