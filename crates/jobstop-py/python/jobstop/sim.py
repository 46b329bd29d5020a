"""The embedded vendor simulators, for your own tests.

``jobstop.sim.start(vendors=["amperity"])`` starts stateful fake vendor
servers on 127.0.0.1 (real HTTP, the vendors' wire formats) inside this
process and returns their settings::

    with jobstop.sim.start(vendors=["amperity"]) as sims:
        ctrl = sims.controller("amperity")
        page = await ctrl.list(state="running")

They stop on :meth:`Simulators.shutdown`, at the end of the ``with`` block,
or when the object is collected.
"""

from __future__ import annotations

from types import TracebackType
from typing import Dict, List, NamedTuple, Optional, Sequence, Type

from . import _jobstop
from ._controller import Controller, Registry

__all__ = ["start", "vendors", "Simulators", "Request"]


class Request(NamedTuple):
    """One request a simulator received."""

    method: str
    path: str
    #: The status sent; ``None`` while the answer is in flight or was cut off.
    status: Optional[int]


def vendors() -> List[str]:
    """Every vendor with a simulator in this build."""
    return _jobstop.sim_vendors()


def start(
    vendors: Optional[Sequence[str]] = None,
    *,
    seed: int = 1,
    running: int = 5,
    finished: int = 20,
    stop_delay: Optional[float] = None,
    seeded_epoch: bool = False,
) -> "Simulators":
    """Starts one simulator per vendor of ``vendors`` (every vendor when
    ``None``), each with ``running`` running and ``finished`` finished runs
    generated from ``seed``. ``stop_delay`` (seconds) is how long an accepted
    stop takes to end a run (default: each vendor's); ``seeded_epoch`` fixes
    the simulated clock so ids and times depend on the seed only."""
    native = _jobstop.start_sims(
        list(vendors or []),
        seed=seed,
        running=running,
        finished=finished,
        stop_delay=stop_delay,
        seeded_epoch=seeded_epoch,
    )
    return Simulators(native)


class Simulators:
    """Running simulators, one per vendor."""

    def __init__(self, native: _jobstop.Sims) -> None:
        self._native = native

    @property
    def vendors(self) -> List[str]:
        """The vendors started."""
        return self._native.vendors()

    @property
    def settings(self) -> Dict[str, Dict[str, str]]:
        """Per vendor, the settings a client needs (``Controller(vendor, **settings)``)."""
        return {v: dict(self._native.settings(v)) for v in self.vendors}

    @property
    def env(self) -> Dict[str, str]:
        """The ``JOBSTOP_<VENDOR>_*`` variables that point
        ``Registry.from_env()`` (and the ``jobstop`` CLI) at the simulators."""
        return dict(self._native.env())

    def controller(self, vendor: str) -> Controller:
        """A controller for ``vendor``'s simulator."""
        return Controller._wrap(self._native.controller(vendor))

    def registry(self) -> Registry:
        """A registry with one account per simulator, named after its vendor."""
        return Registry({v: self.controller(v) for v in self.vendors})

    def base_url(self, vendor: str) -> str:
        """The simulator's base URL."""
        return self._native.base_url(vendor)

    def ids(self, vendor: str) -> List[str]:
        """Every run id, in listing order."""
        return self._native.ids(vendor)

    def raw_state(self, vendor: str, id: str) -> Optional[str]:
        """The vendor's own state of run ``id`` (``None`` if unknown)."""
        return self._native.raw_state(vendor, id)

    def insert_running(self, vendor: str) -> str:
        """Adds a new running run and returns its id."""
        id = self._native.insert_running(vendor)
        if id is None:
            raise RuntimeError(f"the {vendor} simulator cannot add runs")
        return id

    def stop_requests(self, vendor: str, id: Optional[str] = None) -> int:
        """How many stop requests reached the vendor (for ``id``, or in all)."""
        return self._native.stop_requests(vendor, id)

    def requests(self, vendor: str) -> List[Request]:
        """The requests the vendor's API server received so far."""
        return [Request(*r) for r in self._native.requests(vendor)]

    def request_count(self, vendor: str) -> int:
        """How many requests the vendor's API server received so far."""
        return len(self._native.requests(vendor))

    def clear_requests(self, vendor: str) -> None:
        """Forgets the requests received so far."""
        self._native.clear_requests(vendor)

    def inject(
        self,
        vendor: str,
        *,
        status: Optional[int] = None,
        html: bool = False,
        latency: Optional[float] = None,
        path_prefix: str = "/",
        method: Optional[str] = None,
        times: Optional[int] = None,
    ) -> None:
        """Makes the next ``times`` requests (all, when ``None``) to paths
        under ``path_prefix`` (of ``method``, when given) fail: with HTTP
        ``status`` and the vendor's error body, with an HTML page
        (``html=True``), or slowly (``latency`` seconds added)."""
        self._native.inject(
            vendor,
            status=status,
            html=html,
            latency=latency,
            path_prefix=path_prefix,
            method=method,
            times=times,
        )

    def clear_faults(self, vendor: str) -> None:
        """Removes every injected fault."""
        self._native.clear_faults(vendor)

    def shutdown(self) -> None:
        """Stops every simulator."""
        self._native.shutdown()

    def __enter__(self) -> "Simulators":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return repr(self._native)
