# Reproduction, abridged: a unit test of the seeding helper.
import numpy as np

from madewithml import utils


def test_set_seed():
    utils.set_seeds()
    a = np.random.randn(2, 3)
    utils.set_seeds()
    b = np.random.randn(2, 3)
    assert np.array_equal(a, b)
