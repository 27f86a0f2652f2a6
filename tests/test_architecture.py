"""The library's shape (issue 17, docs/ARCHITECTURE.md): layers that import one way only, no import
cycles, no module over 500 lines.

``lint-imports`` checks the contracts in pyproject.toml: the layers of spinup_lib (public paths,
notebook helpers, experiments, replay and plotting, algorithms, the learning core), algorithm files
on the learning core only, and no import cycle between the modules of any package. Imports inside
functions count. A few seconds in all.
"""
import glob
import os
import shutil
import subprocess
import sys

import grimp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_LINES = 500


def test_the_import_contracts_hold():
    lint_imports = shutil.which("lint-imports")
    command = [lint_imports] if lint_imports else [sys.executable, "-c", "from importlinter.cli import "
                                                   "lint_imports_command; lint_imports_command()"]
    # This checkout's spinup_lib, whatever else is installed.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(command + ["--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def test_no_chain_of_imports_leads_back_to_where_it_started():
    # Stricter than the contracts: between any two modules, packages' __init__ included.
    graph = grimp.build_graph("spinup_lib", cache_dir=None)
    cycles = sorted((module, imported) for module in graph.modules
                    for imported in graph.find_modules_directly_imported_by(module)
                    if graph.chain_exists(importer=imported, imported=module))
    assert not cycles, f"import cycles through: {cycles}"


def test_no_module_is_over_500_lines():
    lengths = {os.path.relpath(path, ROOT): sum(1 for _ in open(path, encoding="utf-8"))
               for path in glob.glob(os.path.join(ROOT, "spinup_lib", "**", "*.py"), recursive=True)}
    assert len(lengths) > 30
    too_long = {path: n for path, n in lengths.items() if n > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"
