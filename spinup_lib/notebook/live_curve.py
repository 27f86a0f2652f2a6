"""A learning curve that redraws in place while a notebook cell trains."""
from spinup_lib.replay.display import in_notebook


class LiveCurve:
    """A learning curve that redraws in place while a notebook cell trains.

    Pass it as the logger's ``epoch_callback``, and the curve grows by one point per epoch::

        curve = LiveCurve('AverageEpRet')
        ppo(env_fn, logger_kwargs=dict(output_dir=run_dir, epoch_callback=curve))

    or feed it yourself with ``curve.update(epoch, value)``. When the column is an
    ``Average<X>`` and the row also holds ``Std<X>`` (as EpochLogger writes them), a band of
    one standard deviation is drawn around the curve. Outside a Jupyter kernel (a script,
    a test) nothing is drawn: the points are only recorded in ``xs``, ``ys`` and ``stds``.

    Args:
        ylabel: the progress.txt column to follow (the y axis).
        xlabel: the column for the x axis (``'Epoch'`` or ``'TotalEnvInteracts'``); a row
            without it gets the number of points so far.
        title: the figure's title.
        band: draw the standard-deviation band when the row has one.
        figsize: the figure's size in inches.
    """

    def __init__(self, ylabel="AverageEpRet", xlabel="Epoch", title=None, band=True, figsize=(6, 3.5)):
        self.xs, self.ys, self.stds = [], [], []
        self.xlabel, self.ylabel, self.title = xlabel, ylabel, title
        self.band = band
        self.figsize = figsize
        self._handle = None

    @property
    def std_key(self):
        """The column holding the spread of ``ylabel`` (``AverageEpRet`` -> ``StdEpRet``), or None."""
        if self.band and self.ylabel.startswith("Average"):
            return "Std" + self.ylabel[len("Average"):]
        return None

    def update(self, x, y, std=None):
        """Add the point ``(x, y)`` (with an optional standard deviation) and redraw."""
        self.xs.append(x)
        self.ys.append(float(y))
        self.stds.append(float("nan") if std is None else float(std))
        if in_notebook():
            self._redraw()

    def __call__(self, row):
        """Use the curve as the logger's ``epoch_callback``: add ``row[ylabel]`` against ``row[xlabel]``.

        Rows without ``ylabel`` are ignored, so one callback can follow any algorithm.
        """
        if self.ylabel not in row:
            return
        x = row.get(self.xlabel, len(self.xs))
        std = row.get(self.std_key) if self.std_key else None
        self.update(x, row[self.ylabel], std)

    def figure(self):
        """The curve so far as a matplotlib Figure (made without pyplot, so never shown twice)."""
        import numpy as np
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        fig = Figure(figsize=self.figsize)
        ax = fig.subplots()
        xs, ys, stds = (np.asarray(v, dtype=float) for v in (self.xs, self.ys, self.stds))
        ax.plot(xs, ys, marker="o", markersize=3)
        if np.isfinite(stds).any():
            ax.fill_between(xs, ys - stds, ys + stds, alpha=0.25, linewidth=0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and step counts are whole numbers
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        if self.title:
            ax.set_title(self.title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig

    def _redraw(self):
        self._handle = show_in_place(self.figure(), self._handle)


def show_in_place(figure, handle=None):
    """Show ``figure`` in the notebook, replacing what ``handle`` showed; return the new handle.

    A PNG of our own figure: works whatever matplotlib backend the kernel uses, and the same
    output slot is replaced at each redraw instead of stacking figures.
    """
    import io

    from IPython.display import Image, display

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    image = Image(data=buffer.getvalue(), format="png")
    if handle is None:
        return display(image, display_id=True)
    handle.update(image)
    return handle

