"""One exception tree: each error carries the message a user reads and the exit code."""

from __future__ import annotations


class ProjectError(Exception):
    """A problem the user can fix; the CLI prints the message and exits with `exit_code`."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ParamsError(ProjectError):
    """params.yaml is missing, malformed or holds a value out of range."""

    exit_code = 2


class ContractError(ProjectError):
    """The feature contract in features.py cannot work (no features, a duplicate name, ...)."""

    exit_code = 2


class ContractInferenceError(ProjectError):
    """`contract infer` cannot write a contract: a column no kind fits, or a hand-edited file."""

    exit_code = 2


class DataValidationError(ProjectError):
    """A data file breaks the feature contract."""


class ModelArtifactError(ProjectError):
    """Weights or their metadata are missing, unreadable or built for another contract."""


class TrainingPreemptedError(ProjectError):
    """Training stopped on SIGTERM/SIGINT after writing a checkpoint; rerun to resume."""

    # EX_TEMPFAIL (sysexits.h): a temporary failure, the caller is invited to retry.
    exit_code = 75


class ServiceError(ProjectError):
    """A service could not be reached or did not answer as the serving contract says."""

    exit_code = 2


class DataSourceError(ProjectError):
    """The data source cannot be read: no database URL, an unreachable server, a failing query."""
