"""Equation beside code: show the library's own lines, read from the source file at run time."""
import ast
import os
import os.path as osp

from spinup_lib.errors import UserError

#: Comment lines that mark a region of a library file a chapter can show:
#:     # region: ppo-clipped-objective
#:     ...lines...
#:     # endregion
REGION_START = "# region:"
REGION_END = "# endregion"


class SourceRegion:
    """Lines of a ``spinup_lib`` source file, shown in a notebook with their file and line numbers.

    Attributes:
        path: the file, relative to the repository root (``spinup_lib/algos/ppo.py``).
        start, end: the first and last line number shown (1-based, inclusive).
        text: the lines themselves, dedented (region marker comments left out).
    """

    def __init__(self, path, start, end, lines, answers=None):
        import textwrap

        self.path, self.start, self.end = path, start, end
        self.text = textwrap.dedent("".join(lines)).rstrip("\n")
        self.answers = answers

    def __str__(self):
        return self.text

    def _fold_notice(self):
        return (f"These lines answer {self.answers}: try the exercise first, "
                f"then open them ({self.path}, lines {self.start}-{self.end}).")

    def __repr__(self):
        if self.answers:  # plain text cannot fold: say where the lines are instead of printing them
            return self._fold_notice()
        return f"{self.path}, lines {self.start}-{self.end}:\n{self.text}"

    def _repr_html_(self):
        html = self._code_html()
        if self.answers:
            # <details> folds in JupyterLab and in nbconvert's HTML alike; closed until clicked.
            from html import escape

            return (f'<details><summary style="cursor:pointer;color:#8a4b00">'
                    f'{escape(self._fold_notice())}</summary>{html}</details>')
        return html

    def _code_html(self):
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        # Inline styles, so the colours survive export to HTML and need no stylesheet.
        formatter = HtmlFormatter(noclasses=True, linenos="inline", linenostart=self.start, nobackground=True)
        code = highlight(self.text, PythonLexer(), formatter)
        header = (f'<div style="font-family:monospace;font-size:85%;color:#555;margin-bottom:2px">'
                  f'{self.path}, lines {self.start}&ndash;{self.end}</div>')
        return f'<div style="border-left:3px solid #4a90d9;padding-left:8px">{header}{code}</div>'

    def _repr_markdown_(self):
        if self.answers:
            return (f"<details><summary>{self._fold_notice()}</summary>\n\n"
                    f"```python\n{self.text}\n```\n</details>")
        return f"`{self.path}`, lines {self.start}-{self.end}:\n```python\n{self.text}\n```"


def _library_source_file(module):
    """The source file of a ``spinup_lib`` module, given as a dotted name (checked, never arbitrary)."""
    import importlib.util

    if not isinstance(module, str) or not (module == "spinup_lib" or module.startswith("spinup_lib.")):
        raise UserError(f"show_source reads spinup_lib's own files only, not {module!r}: "
                        "give a module such as 'spinup_lib.algos.ppo'")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise UserError(f"no source file for module {module!r}: check the name (e.g. 'spinup_lib.algos.ppo')")
    return spec.origin


def _find_definitions(tree, name):
    """Every function or class definition called ``name`` (``a.b`` for ``b`` defined inside ``a``)."""
    parts = name.split(".")
    found = []

    def walk(node, path):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                child_path = path + [child.name]
                if child_path[-len(parts):] == parts:
                    found.append(child)
                walk(child, child_path)
            else:
                walk(child, path)

    walk(tree, [])
    return found


def _imported_from(tree, name):
    """The spinup_lib module that a module-level ``from spinup_lib.X import name`` takes ``name`` from."""
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("spinup_lib."):
            if any(alias.name == name and alias.asname in (None, name) for alias in node.names):
                return node.module
    return None


def source_region(module, name):
    """Find a named piece of a ``spinup_lib`` file: a marked region, or a function or class.

    A *marked region* is the lines between ``# region: NAME`` and the next ``# endregion`` (the
    marker lines themselves are left out). Otherwise ``NAME`` is a function or class defined
    anywhere in the file, inner functions included (``compute_loss_pi``); ``outer.inner``
    picks one of several definitions with the same name.

    Args:
        module: the dotted module name, e.g. ``'spinup_lib.algos.ppo'``.
        name: the region's or the definition's name.

    Returns:
        SourceRegion

    Raises:
        UserError: the module is not part of spinup_lib, or holds no such region (a chapter whose
            region was renamed fails loudly instead of showing stale code).
    """
    path = _library_source_file(module)
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    package_root = osp.dirname(osp.dirname(osp.abspath(__import__("spinup_lib").__file__)))
    shown_path = osp.relpath(path, package_root).replace(os.sep, "/")

    # A marked region first: it names exactly the lines a chapter wants.
    starts = [i for i, line in enumerate(lines) if line.strip() == f"{REGION_START} {name}"]
    if len(starts) > 1:
        raise UserError(f"region {name!r} is marked {len(starts)} times in {shown_path}: give each region one name")
    if starts:
        first = starts[0] + 1
        for last in range(first, len(lines)):
            if lines[last].strip().startswith(REGION_END):
                break
        else:
            raise UserError(f"region {name!r} in {shown_path} has no '{REGION_END}' line after it")
        body = [line for line in lines[first:last] if not line.strip().startswith(REGION_START)]
        return SourceRegion(shown_path, first + 1, last, body)

    tree = ast.parse("".join(lines))
    definitions = _find_definitions(tree, name)
    if not definitions:
        # A package or a public path that imports the name from the module that defines it
        # (spinup_lib.notebook, spinup_lib.test_policy): show it from there.
        defined_in = _imported_from(tree, name.split(".")[0])
        if defined_in is not None:
            return source_region(defined_in, name)
        raise UserError(f"{shown_path} has no region or definition named {name!r}: "
                        f"mark one with '{REGION_START} {name}' ... '{REGION_END}', or fix the name")
    if len(definitions) > 1:
        raise UserError(f"{shown_path} defines {name!r} {len(definitions)} times: "
                        "qualify it with the enclosing function, e.g. 'outer.inner'")
    node = definitions[0]
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    body = [line for line in lines[first - 1:node.end_lineno]
            if not line.strip().startswith((REGION_START, REGION_END))]
    return SourceRegion(shown_path, first, node.end_lineno, body)


def show_source(module, name, answers=None):
    """Show a piece of the library beside the equation it computes, read from the file now.

    ``show_source('spinup_lib.algos.ppo', 'compute_loss_pi')`` displays that inner function with its
    file and line numbers; ``show_source('spinup_lib.algos.td3', 'td3-target')`` a marked region
    (see :func:`source_region`). Since the lines are read when the cell runs, what the chapter
    shows is always what the library runs.

    Args:
        module, name: as for :func:`source_region`.
        answers (str): the exercise these lines answer (e.g. ``"Exercise 1.3"``): they are then
            shown folded, behind a line that says so and asks to try the exercise first.

    Returns:
        SourceRegion, displayed as highlighted code when it is a cell's last expression.
    """
    region = source_region(module, name)
    region.answers = answers
    return region

