"""hermetic-ml: scaffold ML repositories that are production systems from their first commit."""

from importlib.metadata import version

__version__ = version("hermetic-ml")
