"""The blocking API: the same controllers, registries and guards as
:mod:`jobstop`, with plain (not async) methods, for scripts and for
orchestrators whose tasks are not coroutines. Each call releases the GIL
while Rust works; Ctrl-C (``KeyboardInterrupt``) ends a call at once.
"""

from __future__ import annotations

import os
from datetime import datetime
from types import TracebackType
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Type, Union

from . import _jobstop
from ._controller import SettingValue, States, _native_settings, _states, _utc
from ._jobstop import GuardOutcome, Page, Run, StopOutcome, StopReport, StopResult
from .errors import InvalidInput

__all__ = ["Controller", "Registry", "Guard"]


class Controller:
    """One account of one vendor, with blocking methods (see
    :class:`jobstop.Controller` for the settings and for each method)."""

    _inner: _jobstop.Controller

    def __init__(
        self,
        vendor: str,
        *,
        name: Optional[str] = None,
        client: Optional[Mapping[str, SettingValue]] = None,
        **settings: SettingValue,
    ) -> None:
        self._inner = _jobstop.controller(vendor, _native_settings(client, settings), name)

    @classmethod
    def from_settings(
        cls,
        vendor: str,
        settings: Mapping[str, SettingValue],
        *,
        name: Optional[str] = None,
        client: Optional[Mapping[str, SettingValue]] = None,
    ) -> "Controller":
        """Like the constructor, with the settings as a mapping (from a
        vault, a config store, or ``jobstop.sim``'s ``settings``)."""
        return cls._wrap(_jobstop.controller(vendor, _native_settings(client, settings), name))

    @classmethod
    def _wrap(cls, inner: _jobstop.Controller) -> "Controller":
        obj = cls.__new__(cls)
        obj._inner = inner
        return obj

    @property
    def name(self) -> str:
        """The account's name."""
        return self._inner.name

    @property
    def vendor(self) -> str:
        """The vendor."""
        return self._inner.vendor

    @property
    def base_url(self) -> str:
        """Where the account's API lives."""
        return self._inner.base_url

    def __repr__(self) -> str:
        return repr(self._inner)

    def list(
        self,
        *,
        state: States = None,
        name_contains: Optional[str] = None,
        kind: Optional[str] = None,
        created_after: Optional[datetime] = None,
        created_before: Optional[datetime] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> Page:
        """One page of matching runs."""
        return self._inner.list_blocking(
            state=_states(state),
            name_contains=name_contains,
            kind=kind,
            created_after=_utc("created_after", created_after),
            created_before=_utc("created_before", created_before),
            limit=limit,
            cursor=cursor,
        )

    def list_all(
        self,
        *,
        state: States = None,
        name_contains: Optional[str] = None,
        kind: Optional[str] = None,
        created_after: Optional[datetime] = None,
        created_before: Optional[datetime] = None,
        page_size: Optional[int] = None,
        limit: Optional[int] = None,
        max_pages: Optional[int] = None,
        deadline: Optional[float] = None,
    ) -> Iterator[Run]:
        """Every matching run, page after page, as an iterator."""
        listing = self._inner.list_all(
            state=_states(state),
            name_contains=name_contains,
            kind=kind,
            created_after=_utc("created_after", created_after),
            created_before=_utc("created_before", created_before),
            page_size=page_size,
            max_pages=max_pages,
            deadline=deadline,
        )
        return _iterate(listing, limit)

    def status(self, id: str) -> Run:
        """The current state of run ``id``."""
        return self._inner.status_blocking(id)

    def stop(self, id: str, *, force: bool = False) -> StopOutcome:
        """Asks the vendor to stop run ``id``."""
        return self._inner.stop_blocking(id, force=force)

    def stop_and_wait(
        self,
        id: str,
        *,
        force: bool = False,
        timeout: float = 300.0,
        min_interval: Optional[float] = None,
        max_interval: Optional[float] = None,
    ) -> StopReport:
        """Stops run ``id`` and polls it until it has ended."""
        return self._inner.stop_and_wait_blocking(
            id,
            force=force,
            timeout=timeout,
            min_interval=min_interval,
            max_interval=max_interval,
        )

    def wait_until_terminal(
        self,
        id: str,
        *,
        timeout: float = 300.0,
        min_interval: Optional[float] = None,
        max_interval: Optional[float] = None,
    ) -> Run:
        """Polls run ``id`` until it has ended."""
        return self._inner.wait_until_terminal_blocking(
            id, timeout=timeout, min_interval=min_interval, max_interval=max_interval
        )

    def stop_many(
        self, ids: Iterable[str], *, force: bool = False, concurrency: int = 8
    ) -> List[StopResult]:
        """Stops every run of ``ids``, at most ``concurrency`` at a time."""
        return self._inner.stop_many_blocking(list(ids), force=force, concurrency=concurrency)

    def guard(
        self,
        id: str,
        *,
        force: bool = False,
        deadline: float = 300.0,
        wait: bool = True,
        min_interval: Optional[float] = None,
        max_interval: Optional[float] = None,
    ) -> "Guard":
        """``with ctrl.guard(id):`` stops run ``id`` when the block is left by
        an exception (``KeyboardInterrupt`` included)."""
        native = self._inner.guard(
            id,
            force=force,
            deadline=deadline,
            min_interval=min_interval,
            max_interval=max_interval,
        )
        return Guard(native, wait=wait)


def _iterate(listing: _jobstop.Listing, limit: Optional[int]) -> Iterator[Run]:
    if limit is not None and limit < 0:
        raise InvalidInput("limit must not be negative")
    left = limit
    try:
        while left is None or left > 0:
            batch = listing.next_batch_blocking()
            if not batch:
                return
            if left is not None:
                batch = batch[:left]
                left -= len(batch)
            yield from batch
    finally:
        listing.close()


class Guard:
    """The scoped-run guarantee as a ``with`` block (see
    :class:`jobstop.Guard`)."""

    def __init__(self, native: _jobstop.Guard, *, wait: bool = True) -> None:
        self._native = native
        self._wait = wait
        self.outcome: Optional[GuardOutcome] = None

    @property
    def run_id(self) -> str:
        """The run this guard watches."""
        return self._native.run_id

    @property
    def armed(self) -> bool:
        """Whether the guard will still stop the run."""
        return self._native.armed

    def disarm(self) -> None:
        """Leaves the run running, whatever happens next."""
        self._native.disarm()

    def fire(self) -> None:
        """Stops the run now (in the background); see :meth:`result`."""
        self._native.fire()

    def result(self) -> GuardOutcome:
        """How the guard ended (waits for its stop, if it fired)."""
        if self.outcome is None:
            self.outcome = self._native.outcome_blocking()
        return self.outcome

    def __enter__(self) -> "Guard":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if exc_type is None:
            self._native.disarm()
            self.result()
            return
        self._native.fire()
        if self._wait:
            self.result()

    def __repr__(self) -> str:
        return repr(self._native)


class Registry:
    """Named accounts with blocking controllers (see :class:`jobstop.Registry`)."""

    def __init__(self, controllers: Optional[Mapping[str, Controller]] = None) -> None:
        self._controllers: Dict[str, Controller] = dict(controllers or {})

    @classmethod
    def _from_native(cls, native: _jobstop.Registry) -> "Registry":
        return cls({name: Controller._wrap(native.get(name)) for name in native.names()})

    @classmethod
    def from_env(cls) -> "Registry":
        """One account per vendor whose ``JOBSTOP_<VENDOR>_*`` variables are set."""
        return cls._from_native(_jobstop.Registry.from_env())

    @classmethod
    def from_toml(cls, path: Union[str, "os.PathLike[str]"]) -> "Registry":
        """The ``[accounts.NAME]`` tables of a TOML config file."""
        return cls._from_native(_jobstop.Registry.from_toml(os.fspath(path)))

    def __getitem__(self, name: str) -> Controller:
        try:
            return self._controllers[name]
        except KeyError:
            known = ", ".join(sorted(self._controllers)) or "none"
            raise KeyError(f"unknown account {name!r} (configured: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._controllers

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._controllers))

    def __len__(self) -> int:
        return len(self._controllers)

    def names(self) -> List[str]:
        """The account names, sorted."""
        return sorted(self._controllers)

    def controllers(self) -> List[Controller]:
        """Every account's controller, by name."""
        return [self._controllers[n] for n in self.names()]

    def __repr__(self) -> str:
        return f"Registry(accounts={self.names()!r})"
