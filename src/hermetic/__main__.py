"""`python -m hermetic` runs the command-line interface."""

from hermetic.cli import app

app(prog_name="hermetic")
