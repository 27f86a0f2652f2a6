"""Dotted names (``torch.nn.ReLU``) resolved as data, never as code.

A name read from a command line or a file (a saved agent's class, a checkpoint's) is resolved
only inside modules that are allowed: ``torch.nn`` and ``spinup_lib`` (:data:`TRUSTED_MODULES`),
and modules the user lists (``--allow_module``). Nothing outside them is imported, nothing is
called, and :func:`resolve_class` checks the kind of class before anyone builds one.
"""
import difflib
import importlib
import re

from spinup_lib.errors import UserError

_DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

# Short module prefixes people write for familiar libraries.
_MODULE_ALIASES = {"nn": "torch.nn", "F": "torch.nn.functional"}

#: Where a dotted name may point without an opt-in: importing these packages' modules runs
#: only installed library code. Anything else needs ``allow_modules`` (``--allow_module``).
TRUSTED_MODULES = ("torch.nn", "spinup_lib")


def in_modules(name, modules):
    """Whether the dotted ``name`` is one of ``modules`` or lies inside one of them."""
    return any(name == module or name.startswith(module + ".") for module in modules)


def check_module_names(modules):
    """The ``--allow_module`` values as a tuple, each checked to be a module name like ``mypkg.nets``."""
    modules = (modules,) if isinstance(modules, str) else tuple(modules or ())
    for module in modules:
        if not isinstance(module, str) or not _MODULE_NAME.match(module):
            raise UserError(f"--allow_module takes module names such as mypkg or mypkg.nets, got {module!r}")
    return modules



def resolve_dotted_name(text, allow_modules=()):
    """(True, object) for a dotted name inside the allowed modules, (False, None) otherwise."""
    head, _, rest = text.partition(".")
    if head in _MODULE_ALIASES:
        text = f"{_MODULE_ALIASES[head]}.{rest}"
    modules = TRUSTED_MODULES + check_module_names(allow_modules)
    if not in_modules(text, modules):
        return False, None  # not even imported: importing a module runs its code
    parts = text.split(".")
    # Import the longest prefix that is a module (never one outside the allowed ones, such
    # as 'torch' for 'torch.nn'), then walk the attributes after it.
    for split in range(len(parts), 0, -1):
        module_name = ".".join(parts[:split])
        if not in_modules(module_name, modules):
            return False, None
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name and (module_name == err.name or module_name.startswith(err.name + ".")):
                continue  # this prefix is not a module: try a shorter one
            raise UserError(f"cannot import {module_name} for '{text}' ({type(err).__name__}: {err})") from None
        except Exception as err:  # the module exists but fails on import
            first_line = (str(err).strip().splitlines() or [""])[0]
            raise UserError(f"cannot import {module_name} for '{text}' ({type(err).__name__}: {first_line})") from None
        for i, attribute in enumerate(parts[split:]):
            if not hasattr(obj, attribute):
                where = ".".join(parts[: split + i])
                public = {a.lower(): a for a in dir(obj) if not a.startswith("_")}
                close = [public[c] for c in difflib.get_close_matches(attribute.lower(), list(public), n=3)]
                hint = f": did you mean {', '.join(f'{where}.{c}' for c in close)}?" if close else ""
                raise UserError(f"'{text}' was not found: {where} has no attribute '{attribute}'{hint}")
            obj = getattr(obj, attribute)
        return True, obj
    return False, None


def resolve_class(path, modules, base=None, what="a class"):
    """The class that the dotted ``path`` names, checked before anything is called.

    Used for names read from files (a saved agent's ``ac_class``): the path must lie inside
    ``modules``, name a class, and (with ``base``) a subclass of ``base``.

    Raises:
        UserError: saying which of these failed.
    """
    if not isinstance(path, str) or not _DOTTED_NAME.match(path):
        raise UserError(f"{what} must be given by a dotted name such as spinup_lib.core.MLPActorCritic, got {path!r}")
    if not in_modules(path, modules):
        raise UserError(f"{path} is outside the modules allowed for {what} ({', '.join(modules)}): "
                        "if you trust the module that defines it, allow it (--allow_module MODULE, "
                        "or allow_modules=['MODULE'])")
    found, obj = resolve_dotted_name(path, [m for m in modules if not in_modules(m, TRUSTED_MODULES)])
    if not found:
        raise UserError(f"cannot import {path}: is the module that defines it installed?")
    if not isinstance(obj, type) or (base is not None and not issubclass(obj, base)):
        if base is None:
            kind = "a class"
        else:
            where = "torch.nn" if base.__module__.startswith("torch.nn") else base.__module__
            kind = f"a subclass of {where}.{base.__qualname__}"
        raise UserError(f"{path} is not {kind}, so it cannot be {what}")
    return obj

