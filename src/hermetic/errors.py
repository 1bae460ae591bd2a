"""One exception tree: each error carries the problem, the fix, and the exit code it maps to."""

from __future__ import annotations

from typing import ClassVar


class HermeticError(Exception):
    """Base of every error hermetic reports to a user.

    Exit codes for every command: 1 the command ran and found a problem, 2 it could not run.
    """

    exit_code: ClassVar[int] = 2

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


class CannotRunError(HermeticError):
    """A precondition is not met or an argument is wrong: nothing was changed (exit 2)."""


class DestinationNotEmptyError(CannotRunError):
    pass


class InvalidAnswerError(CannotRunError):
    pass


class TemplateError(CannotRunError):
    pass


class ToolMissingError(CannotRunError):
    pass


class CommandFailedError(CannotRunError):
    pass


class LockFailedError(CannotRunError):
    pass


class PathNotFoundError(CannotRunError):
    pass


class MalformedReferenceError(CannotRunError):
    """An image reference that the OCI reference grammar does not accept."""


class UnpinnableReferenceError(CannotRunError):
    """An image reference that cannot be resolved or rewritten where it is written."""


class RegistryError(CannotRunError):
    """A registry could not tell the digest of a tag; nothing was changed (exit 2)."""


class RegistryUnreachableError(RegistryError):
    pass


class UnknownImageError(RegistryError):
    pass


class RegistryAuthError(RegistryError):
    pass


class DigestMismatchError(RegistryError):
    pass
