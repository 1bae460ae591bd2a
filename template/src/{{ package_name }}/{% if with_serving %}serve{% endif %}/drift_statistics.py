"""Two-sample drift statistics, in numpy and torch (no SciPy): KS for numbers, chi-square and
total variation distance for categories."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

_SERIES_TERMS = 100
_SMALL_LAMBDA = 1.18  # below it the alternating series converges slowly; use the theta form


@dataclass(frozen=True)
class DriftTest:
    score: float  # in [0, 1]: 0 same distribution, 1 disjoint
    p_value: float


def kolmogorov_survival(statistic: float) -> float:
    """P(K > statistic) for the Kolmogorov distribution (the asymptotic KS null)."""
    if statistic <= 0.0:
        return 1.0
    if statistic < _SMALL_LAMBDA:
        factor = math.sqrt(2.0 * math.pi) / statistic
        terms = sum(
            math.exp(-((2 * j - 1) ** 2) * math.pi**2 / (8.0 * statistic**2))
            for j in range(1, _SERIES_TERMS)
        )
        return min(1.0, max(0.0, 1.0 - factor * terms))
    terms = sum(
        (1.0 if j % 2 else -1.0) * math.exp(-2.0 * j * j * statistic * statistic)
        for j in range(1, _SERIES_TERMS)
    )
    return min(1.0, max(0.0, 2.0 * terms))


def ks_two_sample(reference: npt.NDArray[np.float64], window: npt.NDArray[np.float64]) -> DriftTest:
    """The two-sample Kolmogorov-Smirnov statistic and its asymptotic p-value."""
    reference = np.sort(reference)
    window = np.sort(window)
    points = np.concatenate([reference, window])
    reference_cdf = np.searchsorted(reference, points, side="right") / reference.size
    window_cdf = np.searchsorted(window, points, side="right") / window.size
    statistic = float(np.max(np.abs(reference_cdf - window_cdf)))
    effective = math.sqrt(reference.size * window.size / (reference.size + window.size))
    return DriftTest(
        statistic,
        kolmogorov_survival((effective + 0.12 + 0.11 / effective) * statistic),
    )


def chi_square_survival(statistic: float, degrees_of_freedom: int) -> float:
    """P(X > statistic) for X ~ chi-square(DEGREES_OF_FREEDOM)."""
    shape = torch.tensor(degrees_of_freedom / 2.0, dtype=torch.float64)
    return float(torch.special.gammaincc(shape, torch.tensor(statistic / 2.0, dtype=torch.float64)))


def category_drift(
    reference_counts: npt.NDArray[np.float64], window_counts: npt.NDArray[np.float64]
) -> DriftTest:
    """Total variation distance of the category shares, with a chi-square goodness-of-fit p-value.

    Half a count is added to each reference category so that one never seen in training
    has a finite expected count instead of an infinite statistic.
    """
    reference_shares = (reference_counts + 0.5) / (reference_counts + 0.5).sum()
    window_total = float(window_counts.sum())
    expected = reference_shares * window_total
    statistic = float(np.sum((window_counts - expected) ** 2 / expected))
    distance = 0.5 * float(np.abs(window_counts / window_total - reference_shares).sum())
    return DriftTest(distance, chi_square_survival(statistic, reference_counts.size - 1))
