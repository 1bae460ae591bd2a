"""Lead data: the synthetic sample, Parquet I/O, contract validation and the split."""
