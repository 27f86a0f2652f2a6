"""Documentation generated from a function's own docstring."""


def docstring_args(fn):
    """The ``Args:`` section of a Google-style docstring, as ``{name: description}`` in order."""
    import inspect
    import re

    doc = inspect.getdoc(fn) or ""
    args, current, in_args = {}, None, False
    for line in doc.splitlines():
        if line.strip() == "Args:":
            in_args = True
            continue
        if not in_args:
            continue
        if line and not line.startswith(" "):  # the next section (Returns:, Raises:...) ends Args
            break
        match = re.match(r"^    (\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$", line)
        if match:
            current = match.group(1).lstrip("*")
            args[current] = match.group(3).strip()
        elif current and line.strip():
            args[current] += " " + line.strip()
    return args


def hyperparameter_table(fn):
    """A table of a function's parameters: name, default and the docstring's description.

    Generated from the function itself (``inspect.signature`` and its ``Args:`` section), so the
    chapter's documentation can never disagree with the code. Parameters the docstring does not
    describe are listed with an empty description, so a missing line shows.

    Returns:
        pandas.DataFrame with columns ``parameter``, ``default``, ``description``.
    """
    import inspect

    import pandas as pd

    described = docstring_args(fn)
    rows = []
    for param in inspect.signature(fn).parameters.values():
        if param.default is inspect.Parameter.empty:
            default = "(required)"
        elif callable(param.default) and hasattr(param.default, "__name__"):
            default = f"{param.default.__module__}.{param.default.__qualname__}"
        else:
            default = repr(param.default)
        rows.append(dict(parameter=param.name, default=default, description=described.get(param.name, "")))
    return pd.DataFrame(rows)

