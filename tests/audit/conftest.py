"""The audit corpus holds other projects' tests and conftest files: data here, never collected."""

collect_ignore = ["corpus"]
