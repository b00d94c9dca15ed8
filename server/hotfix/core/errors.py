"""Errors a person can act on.

Every failure the core reports is a :class:`HotfixError` whose message is one
line naming what was wrong (container, path, what to do). Each subclass carries
the protocol code the language server puts in ``data.code`` and the exit code
the CLI returns, so both front ends map errors the same way.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CONFLICT = 3
EXIT_UNHEALTHY = 4
EXIT_LOST = 5  # `hotfix status`: a hotfix is lost (its container recreated without it)


class HotfixError(Exception):
    """Base of all errors reported to users."""

    code = "Unavailable"
    exit_code = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class FileNotFound(HotfixError):
    code = "FileNotFound"


class FileExists(HotfixError):
    code = "FileExists"


class FileIsADirectory(HotfixError):
    code = "FileIsADirectory"


class FileNotADirectory(HotfixError):
    code = "FileNotADirectory"


class NoPermissions(HotfixError):
    code = "NoPermissions"


class Conflict(HotfixError):
    """The container's file is not the version the change was based on."""

    code = "Conflict"
    exit_code = EXIT_CONFLICT


class Unavailable(HotfixError):
    """The engine or container cannot be reached, or an operation cannot be done there."""

    code = "Unavailable"


class ValidationFailed(HotfixError):
    """The new content has errors (e.g. Python syntax); refused unless forced."""

    code = "ValidationFailed"


class FileTooLarge(ValidationFailed):
    """Above the size limit (HOTFIX_MAX_FILE_SIZE); refused unless forced."""


class Protected(NoPermissions):
    """The container is labelled hotfix.protect=true; changing it needs force."""


class ContainerNotFound(FileNotFound):
    pass


class AmbiguousContainer(HotfixError):
    code = "FileNotFound"


class UsageError(HotfixError):
    code = "ValidationFailed"
    exit_code = EXIT_USAGE


class Cancelled(HotfixError):
    code = "Unavailable"
