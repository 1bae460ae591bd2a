"""Seeded, deterministic, preemption-safe training, on one process or under torchrun."""
