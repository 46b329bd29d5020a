"""Plain Python types shared by the package (no native code)."""

from __future__ import annotations

import enum


class RunState(str, enum.Enum):
    """A run's normalized state; compares equal to its string value."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    STOPPED = "stopped"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    IDLE = "idle"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @property
    def is_active(self) -> bool:
        """Queued, running, paused or stopping."""
        return self in (RunState.QUEUED, RunState.RUNNING, RunState.PAUSED, RunState.STOPPING)

    @property
    def is_terminal(self) -> bool:
        """Stopped, succeeded, failed or idle: the run has ended."""
        return self in (RunState.STOPPED, RunState.SUCCEEDED, RunState.FAILED, RunState.IDLE)
