"""jobstop: list, inspect and stop jobs on Amperity, Chorus, DataArts and
CenturyLink through one API, on the Rust jobstop library.

The asyncio API is here (:class:`Registry`, :class:`Controller`,
:class:`Guard`); the same with blocking calls is :mod:`jobstop.blocking`;
the vendor simulators for tests are :mod:`jobstop.sim`; the errors, all
under :class:`Error`, are also in :mod:`jobstop.errors`.
"""

import atexit as _atexit

from . import _jobstop, blocking, errors, sim
from ._controller import Controller, Guard, Registry
from ._jobstop import (
    GuardOutcome,
    Page,
    Run,
    RunError,
    StopOutcome,
    StopReport,
    StopResult,
    __version__,
)
from ._types import RunState
from .errors import (
    AuthError,
    ConfigError,
    Conflict,
    EndlessListing,
    Error,
    InvalidInput,
    InvalidResponse,
    NotFound,
    PermissionDenied,
    RateLimited,
    Refused,
    Timeout,
    TransportError,
    Unavailable,
    Unsupported,
)

# Runtime threads stop touching Python before the interpreter finalizes.
_atexit.register(_jobstop.at_exit)

__all__ = [
    "__version__",
    "blocking",
    "errors",
    "sim",
    "Controller",
    "Guard",
    "GuardOutcome",
    "Page",
    "Registry",
    "Run",
    "RunError",
    "RunState",
    "StopOutcome",
    "StopReport",
    "StopResult",
    "AuthError",
    "ConfigError",
    "Conflict",
    "EndlessListing",
    "Error",
    "InvalidInput",
    "InvalidResponse",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "Refused",
    "Timeout",
    "TransportError",
    "Unavailable",
    "Unsupported",
]
