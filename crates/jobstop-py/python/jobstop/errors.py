"""jobstop's errors: one class per kind, all under :class:`Error`.

Every error carries where it happened (``vendor``, ``operation``, ``run_id``),
what the vendor said (``http_status``, ``vendor_code``, ``request_id``) and
whether trying again later may help (``retryable``). Its text is one line and
never holds a credential.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "Error",
    "AuthError",
    "PermissionDenied",
    "NotFound",
    "InvalidInput",
    "Conflict",
    "RateLimited",
    "Unavailable",
    "Timeout",
    "TransportError",
    "InvalidResponse",
    "Unsupported",
    "ConfigError",
    "Refused",
    "EndlessListing",
]


class Error(Exception):
    """Any error jobstop raises."""

    _default_kind = "other"

    kind: str
    vendor: Optional[str]
    operation: Optional[str]
    run_id: Optional[str]
    http_status: Optional[int]
    vendor_code: Optional[str]
    request_id: Optional[str]
    retryable: bool
    retry_after: Optional[float]
    last_state: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        kind: Optional[str] = None,
        vendor: Optional[str] = None,
        operation: Optional[str] = None,
        run_id: Optional[str] = None,
        http_status: Optional[int] = None,
        vendor_code: Optional[str] = None,
        request_id: Optional[str] = None,
        retryable: bool = False,
        retry_after: Optional[float] = None,
        last_state: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind if kind is not None else self._default_kind
        self.vendor = vendor
        self.operation = operation
        self.run_id = run_id
        self.http_status = http_status
        self.vendor_code = vendor_code
        self.request_id = request_id
        self.retryable = retryable
        self.retry_after = retry_after
        self.last_state = last_state

    def __repr__(self) -> str:
        fields = [f"{self.message!r}", f"kind={self.kind!r}"]
        for name in ("vendor", "operation", "run_id", "http_status", "vendor_code"):
            value = getattr(self, name)
            if value is not None:
                fields.append(f"{name}={value!r}")
        fields.append(f"retryable={self.retryable!r}")
        return f"{type(self).__name__}({', '.join(fields)})"


class AuthError(Error):
    """Credentials are missing, wrong or expired (HTTP 401, a failed login)."""

    _default_kind = "unauthenticated"


class PermissionDenied(Error):
    """The credentials are valid but not allowed to do this (HTTP 403)."""

    _default_kind = "permission_denied"


class NotFound(Error):
    """The run (or its account, job or workspace) does not exist."""

    _default_kind = "not_found"


class InvalidInput(Error, ValueError):
    """The request was refused as malformed, before or by the vendor."""

    _default_kind = "invalid_input"


class Conflict(Error):
    """The request conflicts with the run's current state (HTTP 409)."""

    _default_kind = "conflict"


class RateLimited(Error):
    """The vendor throttled the calls and retries did not get through (429)."""

    _default_kind = "rate_limited"


class Unavailable(Error):
    """The vendor is down or failing (HTTP 5xx)."""

    _default_kind = "unavailable"


class Timeout(Error, TimeoutError):
    """A deadline passed: an attempt's, the retry budget's, or a wait's."""

    _default_kind = "timeout"


class TransportError(Error, ConnectionError):
    """The connection failed: refused, reset, closed early, TLS or DNS."""

    _default_kind = "transport"


class InvalidResponse(Error):
    """The vendor answered something unusable: bad JSON, an HTML page, …"""

    _default_kind = "invalid_response"


class Unsupported(Error):
    """The operation is not supported by this vendor or controller."""

    _default_kind = "unsupported"


class ConfigError(Error):
    """The controller or registry is misconfigured."""

    _default_kind = "config"


class Refused(Error):
    """The vendor refused a stop it understood (its rules, the run's state)."""

    _default_kind = "refused"


class EndlessListing(Error):
    """A listing was ended by its page budget, deadline, or lack of progress."""

    _default_kind = "endless_listing"
