"""The asyncio API: :class:`Controller`, :class:`Registry`, :class:`Guard`."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    AsyncIterator,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Type,
    Union,
)

from . import _jobstop
from ._jobstop import GuardOutcome, Page, Run, StopOutcome, StopReport, StopResult
from ._types import RunState
from .errors import InvalidInput

if TYPE_CHECKING:
    from . import blocking

#: A state filter: one state (a :class:`RunState` or its string) or several.
States = Union[RunState, str, Iterable[Union[RunState, str]], None]
#: A setting's value when building a controller.
SettingValue = Union[str, int, bool]


def _utc(name: str, t: Optional[datetime]) -> Optional[datetime]:
    """``t`` in UTC; a naive datetime is refused (it names no instant)."""
    if t is None:
        return None
    if t.tzinfo is None or t.tzinfo.utcoffset(t) is None:
        raise InvalidInput(f"{name} must be a timezone-aware datetime")
    return t.astimezone(timezone.utc)


def _states(state: States) -> object:
    if state is None or isinstance(state, str):
        return state
    return [str(s.value) if isinstance(s, RunState) else s for s in state]


def _native_settings(
    client: Optional[Mapping[str, SettingValue]], settings: Mapping[str, SettingValue]
) -> Dict[str, object]:
    out: Dict[str, object] = dict(settings)
    if client is not None:
        out["client"] = dict(client)
    return out


class Controller:
    """One account of one vendor: list, inspect and stop its runs.

    Built from a :class:`Registry` (``registry["prod"]``) or directly, with the
    vendor's settings as keyword arguments (the keys of its config file
    table, e.g. ``Controller("amperity", tenant="acme", token=...)``;
    ``client={"retries": 2}`` tunes its HTTP client). Every method is a
    coroutine except :meth:`list_all` (an async iterator) and :meth:`guard`
    (an async context manager). Cancelling the awaiting task cancels the
    call: nothing more is sent.
    """

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
        """The account's name (the vendor's, for a controller built directly)."""
        return self._inner.name

    @property
    def vendor(self) -> str:
        """The vendor: ``"amperity"``, ``"chorus"``, ``"dataarts"`` or ``"centurylink"``."""
        return self._inner.vendor

    @property
    def base_url(self) -> str:
        """Where the account's API lives."""
        return self._inner.base_url

    def blocking(self) -> "blocking.Controller":
        """The same controller with blocking methods."""
        from . import blocking

        return blocking.Controller._wrap(self._inner)

    def __repr__(self) -> str:
        return repr(self._inner)

    async def list(
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
        """One page of matching runs (at most ``limit``); pass its
        ``next_cursor`` as ``cursor`` for the next page."""
        return await self._inner.list(
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
    ) -> AsyncIterator[Run]:
        """Every matching run, page after page, as an async iterator (at
        most ``limit`` runs in all, when given). Pages are read ahead on the
        Rust side, at most two at a time; leaving the loop early ends the
        listing. A listing that does not end (``max_pages``, default 10,000;
        ``deadline`` in seconds, default 600) raises :class:`EndlessListing`."""
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

    async def status(self, id: str) -> Run:
        """The current state of run ``id``."""
        return await self._inner.status(id)

    async def stop(self, id: str, *, force: bool = False) -> StopOutcome:
        """Asks the vendor to stop run ``id`` (a finished run is
        ``already_finished``, never an error)."""
        return await self._inner.stop(id, force=force)

    async def stop_and_wait(
        self,
        id: str,
        *,
        force: bool = False,
        timeout: float = 300.0,
        min_interval: Optional[float] = None,
        max_interval: Optional[float] = None,
    ) -> StopReport:
        """Stops run ``id`` and polls it until it has ended; :class:`Timeout`
        after ``timeout`` seconds. ``stop_won`` is false when the run ended on
        its own first."""
        return await self._inner.stop_and_wait(
            id,
            force=force,
            timeout=timeout,
            min_interval=min_interval,
            max_interval=max_interval,
        )

    async def wait_until_terminal(
        self,
        id: str,
        *,
        timeout: float = 300.0,
        min_interval: Optional[float] = None,
        max_interval: Optional[float] = None,
    ) -> Run:
        """Polls run ``id`` until it has ended; :class:`Timeout` after
        ``timeout`` seconds."""
        return await self._inner.wait_until_terminal(
            id, timeout=timeout, min_interval=min_interval, max_interval=max_interval
        )

    async def stop_many(
        self, ids: Iterable[str], *, force: bool = False, concurrency: int = 8
    ) -> List[StopResult]:
        """Stops every run of ``ids``, at most ``concurrency`` at a time; one
        :class:`StopResult` per id (outcome or error), in the order they
        finished."""
        return await self._inner.stop_many(list(ids), force=force, concurrency=concurrency)

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
        """A scoped-run guard for run ``id``: ``async with ctrl.guard(id):``
        leaves the run running when the block ends normally, and stops it
        (and waits for it to end, within ``deadline`` seconds, unless
        ``wait=False``) when the block is left by an exception or a
        cancellation."""
        native = self._inner.guard(
            id,
            force=force,
            deadline=deadline,
            min_interval=min_interval,
            max_interval=max_interval,
        )
        return Guard(native, wait=wait)


async def _iterate(listing: _jobstop.Listing, limit: Optional[int]) -> AsyncIterator[Run]:
    if limit is not None and limit < 0:
        raise InvalidInput("limit must not be negative")
    left = limit
    try:
        while left is None or left > 0:
            batch = await listing.next_batch()
            if not batch:
                return
            if left is not None:
                batch = batch[:left]
                left -= len(batch)
            for run in batch:
                yield run
    finally:
        listing.close()


class Guard:
    """The scoped-run guarantee (see :meth:`Controller.guard`).

    Leaving ``async with`` normally disarms it; leaving it by an exception,
    ``KeyboardInterrupt`` or the task's cancellation stops the run (the stop
    runs on the Rust runtime and goes on even if the waiting is cancelled
    again). A guard that is garbage-collected while armed stops the run too.
    ``outcome`` tells what happened once the block is left.
    """

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

    async def result(self) -> GuardOutcome:
        """How the guard ended (waits for its stop, if it fired)."""
        if self.outcome is None:
            self.outcome = await self._native.outcome()
        return self.outcome

    async def __aenter__(self) -> "Guard":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if exc_type is None:
            self._native.disarm()
            await self.result()
            return
        self._native.fire()
        if self._wait:
            await self.result()

    def __repr__(self) -> str:
        return repr(self._native)


class Registry:
    """Named accounts: ``registry["prod"]`` is that account's :class:`Controller`.

    From ``JOBSTOP_<VENDOR>_*`` variables (:meth:`from_env`), a TOML config
    file (:meth:`from_toml`), or a dict of controllers.
    """

    def __init__(self, controllers: Optional[Mapping[str, Controller]] = None) -> None:
        self._controllers: Dict[str, Controller] = dict(controllers or {})

    @classmethod
    def _from_native(cls, native: _jobstop.Registry) -> "Registry":
        return cls({name: Controller._wrap(native.get(name)) for name in native.names()})

    @classmethod
    def from_env(cls) -> "Registry":
        """One account per vendor whose ``JOBSTOP_<VENDOR>_*`` variables are
        set, named after the vendor."""
        return cls._from_native(_jobstop.Registry.from_env())

    @classmethod
    def from_toml(cls, path: Union[str, "os.PathLike[str]"]) -> "Registry":
        """The ``[accounts.NAME]`` tables of a TOML config file (secrets
        through ``<setting>_env`` keys)."""
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

    def blocking(self) -> "blocking.Registry":
        """The same accounts with blocking controllers."""
        from . import blocking

        return blocking.Registry({n: c.blocking() for n, c in self._controllers.items()})

    def __repr__(self) -> str:
        return f"Registry(accounts={self.names()!r})"
