"""Domain errors: each carries one clear line for the user.

The CLI turns any of these into that line and a non-zero exit; nothing else
should reach the user as a traceback.
"""


class JobdeltaError(Exception):
    """Base of every error the CLI reports as one line."""


class ConfigError(JobdeltaError):
    """The configuration file is missing, unreadable or invalid."""


class BoardError(JobdeltaError):
    """A board answered with something its parser cannot read (malformed
    JSON, an HTML page without a posting, an unexpected shape)."""

    def __init__(self, message: str, url: str | None = None):
        self.url = url
        super().__init__(f"{message} ({url})" if url else message)


class LeaseHeld(JobdeltaError):
    """Another run of the same source holds the lease."""


class NotFound(JobdeltaError):
    """A posting, source or run named on the command line does not exist."""


class Walled(JobdeltaError):
    """A wall (bot check, WAF or login page) answered instead of a board page.

    Raised by :mod:`crawler.middlewares.walls` into the request's errback
    once the run was failed with ``reason``; errbacks ignore it."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)
