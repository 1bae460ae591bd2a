"""Data: the demo source, synthetic rows for tests, file I/O, contract validation and the split."""
