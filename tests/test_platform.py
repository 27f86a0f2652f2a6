"""The library imports on every platform, and picks a renderer that exists there.

The choice of MuJoCo's OpenGL backend is a pure function of (platform, environment, which shared
libraries load), tested here for Linux, macOS and Windows. The import itself is checked in fresh
interpreters with sys.platform (and platform.system(), which MuJoCo reads) faked: under the old
code, which set MUJOCO_GL=egl whenever DISPLAY was unset, ``import mujoco`` refused it on macOS
and Windows. Cost: about 5 s, most of it the three interpreters importing MuJoCo.
"""
import os
import subprocess
import sys

import pytest

from spinup_lib import envs
from spinup_lib.envs import choose_mujoco_gl, configure_headless_rendering, rendering_settings


def loads_only(*available):
    """A library probe for which exactly the files ``available`` load; it records what it was asked."""
    asked = []

    def can_load(filename):
        asked.append(filename)
        return filename in available

    can_load.asked = asked
    return can_load


EGL, OSMESA = "libEGL.so.1", "libOSMesa.so.8"


# ----------------------------------------------------------------------------------------------
# The choice
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("available, expected", [
    ((EGL, OSMESA), "egl"),            # EGL first: Mesa's EGL draws in software on any machine
    ((OSMESA,), "osmesa"),
    (("libOSMesa.so.6",), "osmesa"),   # older distributions
    ((), None),                        # nothing headless: leave it to GLFW, which says what is missing
])
def test_linux_without_a_display_prefers_egl_then_osmesa(available, expected):
    assert choose_mujoco_gl("linux", {}, loads_only(*available)) == expected


@pytest.mark.parametrize("display", [{"DISPLAY": ":0"}, {"WAYLAND_DISPLAY": "wayland-0"}])
def test_linux_with_a_display_leaves_the_choice_to_mujoco(display):
    probe = loads_only(EGL)
    assert choose_mujoco_gl("linux", display, probe) is None
    assert probe.asked == []  # nothing is loaded to find out


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_macos_and_windows_leave_mujoco_gl_alone(platform):
    probe = loads_only(EGL, OSMESA)  # even where an EGL library happens to exist
    assert choose_mujoco_gl(platform, {}, probe) is None
    assert rendering_settings(platform, {}, probe) == {}
    assert probe.asked == []


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
@pytest.mark.parametrize("users_choice", ["osmesa", "glfw", "egl"])
def test_a_mujoco_gl_the_user_set_always_wins(platform, users_choice):
    environ = {"MUJOCO_GL": users_choice}
    assert choose_mujoco_gl(platform, environ, loads_only(EGL, OSMESA)) is None
    settings = rendering_settings(platform, environ, loads_only(EGL, OSMESA))
    assert "MUJOCO_GL" not in settings and "PYOPENGL_PLATFORM" not in settings


def test_headless_linux_settings():
    assert rendering_settings("linux", {}, loads_only(EGL)) == {
        "MUJOCO_GL": "egl", "PYOPENGL_PLATFORM": "egl",  # PyOpenGL must agree with MuJoCo
        "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    # a variable the user set is kept
    assert rendering_settings("linux", {"PYOPENGL_PLATFORM": "osmesa", "SDL_AUDIODRIVER": "alsa"},
                              loads_only(OSMESA)) == {"MUJOCO_GL": "osmesa", "SDL_VIDEODRIVER": "dummy"}
    assert rendering_settings("linux", {"DISPLAY": ":1"}, loads_only(EGL)) == {}


def test_library_probe_on_this_machine():
    assert envs.library_loads("libc.so.6") is (sys.platform.startswith("linux"))
    assert envs.library_loads("libno_such_library_here.so") is False


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_configure_sets_nothing_on_macos_and_windows(platform, monkeypatch):
    for name in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "SDL_VIDEODRIVER", "SDL_AUDIODRIVER", "DISPLAY",
                 "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", platform)
    before = dict(os.environ)
    assert configure_headless_rendering() == {}
    assert dict(os.environ) == before


# ----------------------------------------------------------------------------------------------
# The import, in fresh interpreters
# ----------------------------------------------------------------------------------------------
def run_python(code, cwd, **env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "SDL_VIDEODRIVER", "SDL_AUDIODRIVER", "DISPLAY",
                        "WAYLAND_DISPLAY")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env)


@pytest.mark.parametrize("platform, system", [("darwin", "Darwin"), ("win32", "Windows")])
def test_import_on_macos_and_windows(platform, system, tmp_path):
    # The fake reaches as far as it can without breaking the standard library: spinup_lib,
    # then MuJoCo (which checks MUJOCO_GL against platform.system() when imported).
    code = f"""
import os, platform, sys
sys.platform = {platform!r}
platform.system = lambda: {system!r}
import spinup_lib
from spinup_lib.envs import make_env_fn
assert "mujoco" not in sys.modules, "import spinup_lib loaded MuJoCo"
import mujoco
print("MUJOCO_GL=" + repr(os.environ.get("MUJOCO_GL")), "SDL=" + repr(os.environ.get("SDL_VIDEODRIVER")))
"""
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["MUJOCO_GL=None", "SDL=None"]


def test_headless_linux_renders_mujoco_after_a_plain_import(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    expected = choose_mujoco_gl("linux", {}, envs.library_loads)
    if expected is None:
        pytest.skip("neither libEGL nor libOSMesa loads on this machine")
    code = """
import os, sys
import spinup_lib
assert "mujoco" not in sys.modules and "MUJOCO_GL" not in os.environ  # nothing chosen at import
import gymnasium as gym
env = gym.make("InvertedPendulum-v5", render_mode="rgb_array", width=64, height=48)
env.reset(seed=0)
frame = env.render()
env.close()
print(os.environ["MUJOCO_GL"], frame.shape, int(frame.max()))
"""
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    backend, *shape, brightest = done.stdout.replace("(", " ").replace(")", " ").replace(",", " ").split()
    assert backend == expected
    assert [int(n) for n in shape] == [48, 64, 3] and int(brightest) > 50
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()  # MuJoCo's warnings were routed to Python's


def test_mujoco_gl_of_the_user_is_kept(tmp_path):
    # glfw: what a user with a screen might set; without one it still imports (only drawing fails)
    code = "import os, spinup_lib, mujoco; print(os.environ['MUJOCO_GL'], os.environ.get('PYOPENGL_PLATFORM'))"
    done = run_python(code, tmp_path, MUJOCO_GL="glfw")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["glfw", "None"]
