"""Environments: building them from an id, remembering how, and rendering without a screen.

(Their exact state mid-episode, for resume: :mod:`spinup_lib.env_state`.)
"""
import difflib
import functools
import os

from spinup_lib.errors import UserError


#: Shared libraries whose presence makes a headless OpenGL backend usable on Linux, best first.
_HEADLESS_GL_LIBRARIES = {"egl": ("libEGL.so.1", "libEGL.so"),
                          "osmesa": ("libOSMesa.so.8", "libOSMesa.so.6", "libOSMesa.so")}


def library_loads(filename):
    """Whether the shared library ``filename`` can be loaded into this process (e.g. 'libEGL.so.1')."""
    import ctypes

    try:
        ctypes.CDLL(filename)
    except OSError:
        return False
    return True


def choose_mujoco_gl(platform, environ, can_load=library_loads):
    """The OpenGL backend MuJoCo should draw with: 'egl', 'osmesa', or None to leave MUJOCO_GL alone.

    A pure function of its arguments, so the choice can be tested for any platform:

    * a MUJOCO_GL the user set always wins (None: nothing to change);
    * macOS ('darwin') and Windows ('win32'): None, MuJoCo picks CGL/GLFW or WGL/GLFW itself
      (an 'egl' there makes ``import mujoco`` fail);
    * Linux (WSL2 included) with an X11 or Wayland display: None, GLFW opens windows;
    * Linux without a display: 'egl' when libEGL loads (Mesa draws in software, or a GPU
      driver), else 'osmesa' when libOSMesa loads, else None (GLFW, which will say what is missing).

    Args:
        platform: ``sys.platform``: 'linux', 'darwin', 'win32'...
        environ: the environment variables, a mapping like ``os.environ``.
        can_load: ``filename -> bool``, whether a shared library loads (see :func:`library_loads`);
            only called on Linux without a display.
    """
    if environ.get("MUJOCO_GL"):
        return None
    if not platform.startswith("linux"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    for backend, filenames in _HEADLESS_GL_LIBRARIES.items():
        if any(can_load(name) for name in filenames):
            return backend
    return None


def rendering_settings(platform, environ, can_load=library_loads):
    """The environment variables to set so that envs render without a screen; a dict, maybe empty.

    MUJOCO_GL (and PYOPENGL_PLATFORM, which must agree with it) from :func:`choose_mujoco_gl`;
    on Linux without a display also SDL's dummy drivers, without which pygame (classic-control
    rendering) complains about the missing display and audio device on stderr. Variables
    the user set are never in the result.
    """
    settings = {}
    backend = choose_mujoco_gl(platform, environ, can_load)
    if backend is not None:
        settings["MUJOCO_GL"] = backend
        settings["PYOPENGL_PLATFORM"] = backend
    headless_linux = platform.startswith("linux") and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))
    if headless_linux:
        settings["SDL_VIDEODRIVER"] = "dummy"
        settings["SDL_AUDIODRIVER"] = "dummy"
    return {name: value for name, value in settings.items() if not environ.get(name)}


def configure_headless_rendering():
    """Choose how envs render on this machine (see :func:`rendering_settings`) and set it in os.environ.

    Returns the variables it set. It must run before MuJoCo's first import, which fixes MuJoCo's
    OpenGL backend; gymnasium reads MUJOCO_GL again when it draws its first frame.
    :func:`prepare_rendering_on_first_import` arranges for it to run at that moment.
    """
    import sys

    settings = rendering_settings(sys.platform, os.environ)
    os.environ.update(settings)
    return settings


class _OnFirstImport:
    """A ``sys.meta_path`` entry that calls ``before()`` just before module ``name`` is first imported
    and ``after(module)`` once it has loaded, then steps aside: the import itself is the normal one."""

    def __init__(self, name, before=None, after=None):
        self.name, self.before, self.after = name, before, after

    def find_spec(self, fullname, path=None, target=None):
        import sys

        if fullname != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        if self.before is not None:
            self.before()
        for finder in sys.meta_path:  # the finders that would have found it without us
            spec = finder.find_spec(fullname, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                break
        else:
            return None
        if self.after is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            exec_module, after = spec.loader.exec_module, self.after

            def exec_then_after(module):
                exec_module(module)
                after(module)

            spec.loader.exec_module = exec_then_after  # this module's own loader object only
        return spec


def prepare_rendering_on_first_import():
    """Set up rendering when it is first needed, never at ``import spinup_lib``.

    MuJoCo reads MUJOCO_GL when it is imported (by gymnasium, when the first MuJoCo env is made),
    and refuses a backend its platform lacks, so the choice is made at that moment:
    :func:`configure_headless_rendering` runs just before MuJoCo (or pygame) is first imported,
    and :func:`route_mujoco_warnings` just after. When MuJoCo is already imported, both run now.
    """
    import sys

    if "mujoco" in sys.modules or "pygame" in sys.modules:
        configure_headless_rendering()
    else:
        hooked = {hook.name for hook in sys.meta_path if isinstance(hook, _OnFirstImport)}
        for name in ("mujoco", "pygame"):
            if name not in hooked:
                sys.meta_path.insert(0, _OnFirstImport(name, before=configure_headless_rendering,
                                                       after=_route_warnings_of if name == "mujoco" else None))
    if "mujoco" in sys.modules:
        route_mujoco_warnings()


def _route_warnings_of(mujoco_module):
    route_mujoco_warnings()


def route_mujoco_warnings():
    """Send MuJoCo's warnings through Python's ``warnings`` instead of MUJOCO_LOG.TXT.

    MuJoCo 4 warns that gymnasium's HalfCheetah model uses the deprecated 'settotalmass'
    attribute each time the env is built, and writes every warning to a MUJOCO_LOG.TXT in
    the working directory. That one is harmless and outside our control, so it is dropped;
    any other warning becomes a RuntimeWarning, which Python shows once per place.
    """
    try:
        import mujoco
    except ImportError:  # MuJoCo is optional for classic-control work
        return
    import warnings

    def on_warning(message):
        if "settotalmass" not in message:
            warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)

    mujoco.set_mju_user_warning(on_warning)


# gymnasium's extras, by the Python package they install (for "pip install gymnasium[extra]").
_EXTRA_OF_PACKAGE = {"jax": "jax", "jaxlib": "jax", "Box2D": "box2d", "mujoco": "mujoco",
                     "pygame": "classic-control", "ale_py": "atari", "shimmy": "other"}


def _is_moved_away(spec):
    """Whether gymnasium registers ``spec`` only to say it moved (MuJoCo v2/v3, the gym shims)."""
    entry = spec.entry_point
    return (callable(entry) and getattr(entry, "__module__", "").startswith("gymnasium")
            and getattr(entry, "__name__", "").startswith("_raise"))


def _newest_version(spec):
    """The id of the newest version of ``spec``'s env that gymnasium can make, or None."""
    import gymnasium as gym

    newer = [other for other in gym.registry.values()
             if (other.namespace, other.name) == (spec.namespace, spec.name)
             and (other.version or 0) > (spec.version or 0) and not _is_moved_away(other)]
    return max(newer, key=lambda other: other.version).id if newer else None


def _missing_package(err):
    """The name of the missing Python package behind an import error (or one it caused), or None."""
    while err is not None:
        if isinstance(err, ModuleNotFoundError) and err.name:
            return err.name.split(".")[0]
        err = err.__cause__ or err.__context__
    return None


def check_env_id(env_id):
    """Raise UserError for an id gymnasium cannot make, saying what to use or install instead.

    * an unknown id: close matches;
    * an old version gymnasium keeps only to say it moved (``Hopper-v3``): the version to use;
    * an env whose code needs a package that is not installed (``phys2d/CartPole-v1`` needs
      jax): what to install, and the plain env of the same name if there is one.

    Nothing is built: at most the module the registry names for the env is imported.
    """
    import importlib

    import gymnasium as gym

    if not isinstance(env_id, str) or env_id not in gym.registry:
        known = [key for key, spec in gym.registry.items() if not _is_moved_away(spec)]
        close = difflib.get_close_matches(str(env_id), known, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "see gymnasium.pprint_registry() for the list."
        raise UserError(f"unknown environment id '{env_id}': {hint}")
    spec = gym.registry[env_id]
    if _is_moved_away(spec):
        newer = _newest_version(spec)
        if newer:
            raise UserError(f"{env_id} is an old version that gymnasium {gym.__version__} no longer runs: use {newer}")
        if "shimmy" in spec.entry_point.__name__:
            raise UserError(f"{env_id} wraps environments of the old gym package: pip install \"shimmy[gym-v26]\"")
        raise UserError(f"{env_id} is not part of gymnasium {gym.__version__} any more: "
                        "see https://gymnasium.farama.org for where it moved")
    if not isinstance(spec.entry_point, str):
        return
    module_name = spec.entry_point.split(":")[0]
    try:
        importlib.import_module(module_name)
    except Exception as err:  # a package the env needs is missing (or broken)
        package = _missing_package(err)
        plain = spec.name + (f"-v{spec.version}" if spec.version is not None else "")
        instead = f", or use {plain}" if spec.namespace and plain in gym.registry else ""
        if package:
            extra = _EXTRA_OF_PACKAGE.get(package)
            install = f'pip install "gymnasium[{extra}]"' if extra else f"pip install {package}"
            raise UserError(f"{env_id} needs the Python package '{package}', which is not installed: "
                            f"{install}{instead}") from err
        first_line = (str(err).strip().splitlines() or [""])[0]
        raise UserError(f"{env_id} cannot be made here ({type(err).__name__}: {first_line}){instead}") from err


class EnvMaker:
    """A picklable zero-argument callable that builds a gymnasium env by id.

    ``lambda: gym.make(id)`` cannot be sent to another process with the standard pickle;
    this can, and it keeps the id for config.json and for replay.
    """

    def __init__(self, env_id, **make_kwargs):
        check_env_id(env_id)
        self.env_id = env_id
        self.make_kwargs = make_kwargs

    def __call__(self, **extra):
        import gymnasium as gym

        return gym.make(self.env_id, **{**self.make_kwargs, **extra})

    def __repr__(self):
        kw = "".join(f", {k}={v!r}" for k, v in self.make_kwargs.items())
        return f"make_env_fn({self.env_id!r}{kw})"


def make_env_fn(env_id, **make_kwargs):
    """Return an ``env_fn`` for the algorithms: ``make_env_fn('CartPole-v1')()`` is a new env."""
    return EnvMaker(env_id, **make_kwargs)


def env_spec_json(env):
    """The env's gymnasium spec as JSON (what replay needs to rebuild it), or None."""
    # The outer spec, not env.unwrapped.spec: only the outer one remembers the wrappers
    # gym.make added (TimeLimit's max_episode_steps among them).
    spec = getattr(env, "spec", None) or getattr(env.unwrapped, "spec", None)
    if spec is None:
        return None
    try:
        return spec.to_json()
    except Exception:  # e.g. an entry point that is a local class cannot be written as JSON
        return None


# Modules whose wrappers a saved env spec may name (the spec is data read from a file).
TRUSTED_WRAPPER_MODULES = ("gymnasium.wrappers", "spinup_lib")


def checked_spec(spec_json):
    """The gymnasium ``EnvSpec`` of :func:`env_spec_json`'s output, once checked to name only registered code.

    The JSON may come from a file someone sent, and gymnasium imports and calls the entry
    points a spec names: so the env must be one of gymnasium's registry, with the entry point
    registered for its id, and its wrappers must come from gymnasium.wrappers (or spinup_lib).
    Anything else is a UserError, before anything is imported or called.
    """
    import gymnasium as gym
    from gymnasium.envs.registration import EnvSpec

    try:
        spec = EnvSpec.from_json(spec_json)
    except Exception as err:
        raise UserError(f"the saved environment spec cannot be read ({type(err).__name__}: {err})") from None
    check_env_id(spec.id)
    registered = gym.registry[spec.id].entry_point
    if spec.entry_point != registered:
        raise UserError(f"the saved spec of {spec.id} names another entry point ({spec.entry_point!r}) than the "
                        f"registered {registered!r}: it is refused; pass the env yourself")
    for wrapper in spec.additional_wrappers:
        module = wrapper.entry_point.split(":")[0] if isinstance(wrapper.entry_point, str) else ""
        if not any(module == m or module.startswith(m + ".") for m in TRUSTED_WRAPPER_MODULES):
            raise UserError(f"the saved spec of {spec.id} names the wrapper {wrapper.entry_point!r}, outside "
                            f"{', '.join(TRUSTED_WRAPPER_MODULES)}: it is refused; pass the env yourself")
    return spec


def make_env_from_spec_json(spec_json, **kwargs):
    """Rebuild an env from :func:`env_spec_json`'s output (extra kwargs such as render_mode), checked first
    (:func:`checked_spec`)."""
    import gymnasium as gym

    return gym.make(checked_spec(spec_json), **kwargs)


def env_fn_from_spec_json(spec_json):
    """An ``env_fn`` that rebuilds the env of a spec (JSON), checked now (:func:`checked_spec`)."""
    checked_spec(spec_json)
    return functools.partial(make_env_from_spec_json, spec_json)
