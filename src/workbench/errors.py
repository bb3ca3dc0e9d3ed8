"""Exceptions raised by workbench; each says what failed and where."""


class WorkbenchError(Exception):
    """Root of every error workbench raises on purpose."""


class ConfigError(WorkbenchError, ValueError):
    """A parameter file or parameter value is invalid (message names file and key)."""


class SourceUnavailable(WorkbenchError):
    """A server (Prometheus, prediction DB, MLflow) could not be reached or refused a query."""


class InsufficientData(WorkbenchError):
    """A window holds too little data to compute a result."""


class NotebookFailed(WorkbenchError):
    """A review notebook raised, or finished incomplete."""


class DemoError(WorkbenchError):
    """The built-in demo stack could not be built, started or stopped."""
