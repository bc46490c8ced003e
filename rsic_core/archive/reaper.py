"""The processes of a local Ray that its driver started, ended when the driver dies (no ray imported here).

``ray.init()`` without an address starts a small cluster under the calling process: ``gcs_server`` and
``raylet`` share the driver's fate, but the dashboard and runtime-env agents and idle workers that the
raylet started can outlive a driver killed with ``SIGKILL`` (or by the out-of-memory killer), and then
hold memory and cores until someone finds them. Ray cannot clean up after a process that gets no
chance to run, so :func:`watch` starts this module as a separate process: it notes every process the
driver starts from then on, and when the driver's pipe closes without a ``done`` line (the driver
died) it ends those still running. After ``done`` it only ends what ``ray.shutdown()`` left behind.

Written by hand with psutil (a dependency of accelerate and peft): Ray has no option for this.

Example::

    reaper = watch()          # right before ray.init()
    ...
    reaper.done()             # after ray.shutdown()
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time

POLL_SECONDS = 0.3  # how often the driver's new processes are noted
GRACE_SECONDS = 10.0  # after ``done``: how long ray.shutdown() may take before what is left is ended


class Reaper:
    """The driver's end of the pipe to a running reaper process."""

    def __init__(self, process: subprocess.Popen):
        self.process = process

    def done(self) -> None:
        """Ray was shut down: the reaper ends what is left after :data:`GRACE_SECONDS` and exits."""
        try:
            self.process.stdin.write(b"done\n")
            self.process.stdin.close()
        except (OSError, ValueError):  # the reaper is gone already
            pass


def watch() -> Reaper:
    """Start the reaper of this process's Ray (call it right before ``ray.init()``)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rsic_core.archive.reaper", str(os.getpid()), repr(time.time())],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C or a kill of the driver's process group does not reach it
    )
    return Reaper(process)


def _note(driver, since: float, seen: dict) -> None:
    """Add the driver's descendants started since ``since`` to ``seen`` (pid -> process)."""
    import psutil

    try:
        children = driver.children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        try:
            if child.pid not in seen and child.pid != os.getpid() and child.create_time() >= since - 1:
                seen[child.pid] = child
        except psutil.Error:
            continue


def _end(processes: list) -> None:
    import psutil

    alive = [p for p in processes if p.is_running()]
    for process in alive:
        try:
            process.terminate()
        except psutil.Error:
            pass
    _, left = psutil.wait_procs(alive, timeout=3)
    for process in left:
        try:
            process.kill()
        except psutil.Error:
            pass


def main(argv: list[str]) -> int:
    import psutil

    driver, since = psutil.Process(int(argv[0])), float(argv[1])
    seen: dict = {}
    stdin = sys.stdin.buffer
    while True:
        ready, _, _ = select.select([stdin], [], [], POLL_SECONDS)
        _note(driver, since, seen)
        if ready:
            line = stdin.readline()
            if line.strip() == b"done":
                time.sleep(GRACE_SECONDS)
                break
            if not line:  # the pipe closed without "done": the driver died
                break
    _end(list(seen.values()))  # is_running() also checks the start time: a reused pid is left alone
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
