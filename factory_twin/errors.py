"""One error tree for the whole package.

Every error a user can cause (a broken plant file, a dead endpoint, a bad CLI argument)
is a :class:`FactoryTwinError`; the CLI and the window turn it into a message, never a
traceback.
"""

from __future__ import annotations


class FactoryTwinError(Exception):
    """Base class of every error factory_twin raises on purpose."""


class ConfigError(FactoryTwinError):
    """A plant file is unreadable or invalid.

    Parameters
    ----------
    issues
        Every problem found, each already formatted as ``file:line: path: message``.
    """

    def __init__(self, issues: list[str]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(self.issues))


class SimulationError(FactoryTwinError):
    """A simulation cannot be built or run from the given plant and options."""


class ConnectionFailed(FactoryTwinError):
    """An OPC UA endpoint could not be reached or refused us.

    Parameters
    ----------
    message
        The whole message, naming the endpoint.
    reason
        Why, without the endpoint (for callers that name it themselves).
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message


class ServerUnreachable(ConnectionFailed):
    """No TCP connection to an OPC UA endpoint could be made: ``cannot reach HOST:PORT: why``.

    ``why`` comes from the socket error: connection refused, a host name not known, no
    route to the host, or timed out after the connect timeout.
    """


class ExportError(FactoryTwinError):
    """A work-instruction export failed."""
