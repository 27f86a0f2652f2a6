"""Where output can be shown: a window on a display, or a notebook."""
import os
import sys


def has_display():
    """Whether a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))



def in_notebook():
    """True when running in a Jupyter kernel, where figures and videos can be displayed."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
