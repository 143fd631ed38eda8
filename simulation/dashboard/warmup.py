"""Compiling the simulation kernels before the first visitor needs them, and saying so.

numba compiles each kernel on its first call (1-2 minutes for all of them on 2 cores after an
install) and caches the machine code on disk (`cache=True` in simulation/kernels/), so later
starts load it in about a second. `peerscale dashboard` starts the compilation when it starts, in
a separate process (compiling holds Python's interpreter lock: in the server's own process it
would stall every page), prints that it is compiling and, when done, how long it took; the page
shows the same meanwhile and builds its first model when the kernels are ready.

Every structure of the registry runs one week of a tiny model, so the kernels of each
(study groups included) are compiled before a Reset needs them.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable


def warm_up() -> float:
    """Run one week of a tiny model of every registered structure; the seconds it took."""
    from ..config.schema import Scenario
    from ..model import PeerLearningModel
    from ..structures import names

    started = time.perf_counter()
    for name in names():
        scenario = Scenario().with_overrides(
            {"program.structure": name, "population.size": 200, "run.steps": 2}
        )
        PeerLearningModel(scenario=scenario).step()
    return time.perf_counter() - started


class Warmup:
    """The server's kernel preparation: started once, waited for by every session."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.seconds: float | None = None  # how long it took, once done
        self.problem = ""  # why it failed, if it did (sessions then compile as they build)
        self._done = threading.Event()

    @property
    def running(self) -> bool:
        """Whether the kernels are being prepared now."""
        return self.started is not None and not self._done.is_set()

    @property
    def elapsed(self) -> float:
        """Seconds since the preparation started (0 if it did not)."""
        return 0.0 if self.started is None else time.monotonic() - self.started

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the kernels are ready (True) or `timeout` seconds pass (False)."""
        if self.started is None:
            return True
        return self._done.wait(timeout)

    def start(self, log: Callable[[str], None] = print) -> None:
        """Compile in a child process, then load the cached kernels here; log both ends."""
        if self.started is not None:
            return
        self.started = started = time.monotonic()
        log(
            "PeerScale dashboard: preparing the simulation kernels in the background (numba "
            "compiles them once after an install, 1-2 minutes on 2 cores; later starts load "
            "them from its cache in seconds)"
        )
        threading.Thread(
            target=self._run, args=(log, started), name="kernel-warmup", daemon=True
        ).start()

    def _run(self, log: Callable[[str], None], started: float) -> None:
        try:
            child = subprocess.run(
                [sys.executable, "-m", "simulation.dashboard.warmup"],
                capture_output=True, text=True, check=False,
            )
            if child.returncode != 0:
                last = (child.stderr.strip().splitlines() or ["no message"])[-1]
                self.problem = f"compiling the kernels failed ({last})"
            warm_up()  # here, from numba's cache: the first Reset of every structure is quick
        except Exception as exc:  # the page still works: each session compiles what it needs
            self.problem = self.problem or f"preparing the kernels failed: {exc}"
        finally:
            self.seconds = time.monotonic() - started
            self._done.set()
        if self.problem:
            log(f"PeerScale dashboard: {self.problem}; models compile as they are first built")
        else:
            log(f"PeerScale dashboard: simulation kernels ready in {self.seconds:.1f} s")


# The server's one preparation (module level: shared by every session of the process).
WARMUP = Warmup()


if __name__ == "__main__":
    print(f"kernels ready in {warm_up():.1f} s")
