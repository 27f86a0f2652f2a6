"""Values of command-line flags: read without executing code, then checked to be what each flag takes."""
import ast
import difflib
import inspect

from spinup_lib.dotted_names import _DOTTED_NAME, TRUSTED_MODULES, in_modules, resolve_dotted_name
from spinup_lib.errors import UserError


def parse_value(text, allow_modules=()):
    """Turn one command-line word into a Python value, without executing code.

    In order:

    1. a Python literal (``ast.literal_eval``): ``3``, ``1e-3``, ``True``, ``None``,
       ``[64,64]``, ``(32,)``, ``{'a': 1}``, ``'quoted'``;
    2. a dotted name inside ``torch.nn`` or ``spinup_lib`` (or a module of ``allow_modules``),
       resolved by importing that module and reading attributes: ``torch.nn.ReLU``, ``nn.Tanh``
       (short for ``torch.nn.Tanh``), ``spinup_lib.core.MLPActorCritic``. Nothing is called,
       and no other module is imported: ``tempfile.mkdtemp`` or ``mymodule.X`` stay text;
    3. otherwise the text itself: ``CartPole-v1``, ``auto``.

    What a flag accepts (an activation class, an actor-critic class, an int...) is checked
    afterwards by the command line, before anything runs.

    Raises:
        UserError: a dotted name whose module imports but lacks the attribute (a typo
            such as ``torch.nn.Relu``), with close matches.
    """
    if not isinstance(text, str):
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    if _DOTTED_NAME.match(text):
        found, value = resolve_dotted_name(text, allow_modules)
        if found:
            return value
    return text



def _kind_of_default(default):
    """(predicate, description) for values of the same kind as ``default``, or None to accept all."""
    if default is None or default is inspect.Parameter.empty:
        return None
    if isinstance(default, bool):
        return (lambda v: isinstance(v, bool)), "True or False"
    if isinstance(default, int):
        return (lambda v: isinstance(v, int) and not isinstance(v, bool)), "an int"
    if isinstance(default, float):
        return (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)), "a number"
    if isinstance(default, (list, tuple)):
        return (lambda v: isinstance(v, (list, tuple))), "a list such as [64,64] (no spaces)"
    if isinstance(default, str):
        return (lambda v: isinstance(v, str)), "a string"
    if isinstance(default, dict):
        return (lambda v: isinstance(v, dict)), "a dict such as {'key':1} (or use --flag:key VALUE)"
    if isinstance(default, type):
        import torch

        base = torch.nn.Module if issubclass(default, torch.nn.Module) else object
        return ((lambda v: isinstance(v, type) and issubclass(v, base)),
                f"{'a torch.nn.Module' if base is torch.nn.Module else 'a'} class given by its dotted name, "
                f"such as {_shown(default)}")
    if callable(default):
        return callable, "a function or class given by its dotted name, such as torch.nn.ReLU"
    return None


ACTIVATION_KEY = "ac_kwargs:activation"


def _check_activation(flag, values, allow_modules):
    """An activation is an nn.Module class from torch.nn (or spinup_lib, or an allowed module)
    that can be built without arguments, as the networks do: ``activation()``."""
    import torch

    modules = " or ".join(TRUSTED_MODULES + allow_modules)
    for value in values:
        if not (isinstance(value, type) and issubclass(value, torch.nn.Module)):
            raise UserError(f"--{flag} expects an activation class from {modules}, such as torch.nn.ReLU "
                            f"or nn.Tanh (one of your own: add --allow_module MODULE), got {_shown(value)}")
        try:
            inspect.signature(value).bind()
        except TypeError:
            raise UserError(f"--{flag}: {_shown(value)} cannot be built without arguments, so it is not an "
                            "activation: use one such as torch.nn.ReLU or nn.Tanh") from None
        except ValueError:  # no signature to read: let it be
            pass


def _check_actor_critic(flag, values, allow_modules):
    """An actor-critic is an nn.Module class from spinup_lib or a module allowed with --allow_module."""
    import torch

    modules = ("spinup_lib",) + allow_modules
    for value in values:
        if not (isinstance(value, type) and issubclass(value, torch.nn.Module)
                and in_modules(value.__module__, modules)):
            raise UserError(f"--{flag} expects an actor-critic class from {' or '.join(modules)}, such as "
                            "spinup_lib.core.MLPActorCritic (one of your own: add --allow_module MODULE), "
                            f"got {_shown(value)}")


def _shown(value):
    if isinstance(value, str):
        return f"'{value}'"
    if hasattr(value, "__module__") and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)


def _check_kind(flag, values, default):
    kind = _kind_of_default(default)
    if kind is None:
        return
    accepts, description = kind
    for value in values:
        if not accepts(value):
            raise UserError(f"--{flag} expects {description}, got {_shown(value)}")


def _check_hidden_sizes(flag, values):
    for value in values:
        if not (isinstance(value, (list, tuple)) and value
                and all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in value)):
            raise UserError(f"--{flag} expects a list of positive ints such as [64,64] (no spaces), "
                            f"got {_shown(value)}")


def _constructor_parameters(actor_critic):
    """Names an actor-critic takes after (observation_space, action_space), or None if any."""
    try:
        parameters = list(inspect.signature(actor_critic).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name: p.default for p in parameters[2:]}


def _check_actor_critic_flags(params, given_as, algo_parameters):
    """Check --ac_kwargs:X flags against the actor-critic class(es) that will receive them."""
    ac_keys = [k for k in params if k.startswith("ac_kwargs:")]
    if not ac_keys:
        return
    if "actor_critic" in params:
        classes = params["actor_critic"]
    elif "actor_critic" in algo_parameters:
        classes = [algo_parameters["actor_critic"].default]
    else:
        classes = []
    for actor_critic in classes:
        accepted = _constructor_parameters(actor_critic)
        if accepted is None:
            continue
        for key in ac_keys:
            name = key.split(":", 1)[1]
            if name not in accepted:
                close = difflib.get_close_matches(name, accepted, n=1)
                hint = f"did you mean --ac_kwargs:{close[0]}? " if close else ""
                raise UserError(f"unknown flag --{given_as[key]}: {hint}{_shown(actor_critic)} takes "
                                f"{', '.join(accepted) or 'no keyword arguments'}")
            _check_kind(given_as[key], params[key], accepted[name])


def _with_activation_resolved(flag, ac_kwargs, allow_modules):
    """``--ac_kwargs "{'activation': 'torch.nn.ReLU'}"``: the name inside the dict, resolved and checked."""
    if not isinstance(ac_kwargs, dict) or "activation" not in ac_kwargs:
        return ac_kwargs
    activation = ac_kwargs["activation"]
    if isinstance(activation, str):
        activation = parse_value(activation, allow_modules)
    _check_activation(f"{flag}:activation", [activation], allow_modules)
    return {**ac_kwargs, "activation": activation}

