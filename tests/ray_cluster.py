"""A Ray cluster on this machine alone, for the tests and benchmarks/grid_parallel.py.

(To try ``--ray`` out by hand: ``ray start --head --num-cpus 2``, ``--ray auto``, ``ray stop``.)
"""
import contextlib
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from spinup_lib.lifecycle import stop_process_trees


def _read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return " ".join(f.read().split())
    except OSError:
        return ""


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRayCluster:
    """A one-machine Ray cluster on the loopback address, started and stopped by this object.

    It runs ``ray start --head --block`` (with every port chosen free, and a temporary folder of
    its own); stopping that one process stops every Ray process it started, and no other Ray
    cluster on the machine is touched (unlike ``ray stop``, which stops them all). Use as::

        with LocalRayCluster(num_cpus=2) as cluster:
            grid.run(ppo, ray_address=cluster.address)

    :attr:`env` holds the variables that keep Ray on loopback: starting the cluster sets them in
    this process (before importing Ray, which reads them once); a driver in another process needs
    them in its environment too.
    """

    #: Ray's switch for a cluster of one machine: every address is 127.0.0.1.
    env = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}

    def __init__(self, num_cpus=2, object_store_mb=200, startup_timeout=240.0, attempts=2):
        self.num_cpus, self.object_store_mb = num_cpus, object_store_mb
        self.startup_timeout, self.attempts = startup_timeout, attempts
        self.process, self.temp_dir, self.address = None, None, None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        # Also here, before Ray is imported: Ray reads the switch once, at import.
        os.environ.update(self.env)
        import ray  # noqa: F401  (here, so that a missing install fails before anything starts)
        ray_cli = osp.join(osp.dirname(sys.executable), "ray")
        if not osp.exists(ray_cli):
            ray_cli = shutil.which("ray") or "ray"
        for attempt in range(1, self.attempts + 1):
            # Short: Ray's socket paths live under it and must stay within ~100 characters.
            self.temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp" if osp.isdir("/tmp") else None)
            port = _free_port()
            cmd = [ray_cli, "start", "--head", "--block", f"--num-cpus={self.num_cpus}", f"--port={port}",
                   "--disable-usage-stats", "--include-dashboard=false", f"--temp-dir={self.temp_dir}",
                   f"--object-store-memory={self.object_store_mb * 2**20}",
                   f"--node-manager-port={_free_port()}", f"--object-manager-port={_free_port()}",
                   f"--dashboard-agent-grpc-port={_free_port()}", f"--dashboard-agent-listen-port={_free_port()}",
                   f"--metrics-export-port={_free_port()}", f"--runtime-env-agent-port={_free_port()}"]
            self.log_path = osp.join(self.temp_dir, "ray_start.log")
            with open(self.log_path, "w") as log:
                self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                env=dict(os.environ, **self.env),
                                                start_new_session=(os.name == "posix"))
            deadline = time.monotonic() + self.startup_timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if "Ray runtime started" in _read_text(self.log_path):
                    self.address = f"127.0.0.1:{port}"
                    return self
                time.sleep(0.5)
            reason = _read_text(self.log_path)[-300:]
            self.stop(keep_log=attempt == self.attempts)  # the last one's log stays, for diagnosis
        raise RuntimeError(f"could not start a local Ray cluster ({self.log_path}): {reason}")

    def stop(self, keep_log=False):
        """Stop the cluster: SIGTERM to `ray start --block` (which stops what it started) and what is
        below it, SIGKILL to what is left a minute later."""
        process, self.process = self.process, None
        if process is not None:
            stop_process_trees([process], steps=((signal.SIGTERM, 60.0),))
            if os.name == "posix":  # anything of its process group still there
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
        if self.temp_dir and not keep_log:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
        self.address = None
