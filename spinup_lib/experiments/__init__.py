"""The experiment machinery: what launches, names, runs, resumes and lists runs, around the
algorithms (which know nothing of it).

Its public paths are :mod:`spinup_lib.run` (the command line) and :mod:`spinup_lib.run_utils`.

* ``settings``: settings read when used, the algorithms by name, processes per run;
* ``naming``: a run's output directory from its name, seed and date; names of grid values;
* ``calls``: one experiment in a fresh process (``call_experiment``);
* ``child``: that fresh process, ``python -m spinup_lib.experiments.child PAYLOAD``;
* ``grid``: ``ExperimentGrid``;
* ``plan``: what each run folder of a grid holds (new, finished, resume, restart);
* ``runners``: a grid's runs in series or several at once; ``ray_runner``: on a Ray cluster;
* ``resume``: continuing a run from its checkpoint;
* ``flags`` and ``cli``: ``python -m spinup_lib.run``.
"""
