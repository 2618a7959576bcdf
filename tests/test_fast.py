"""digitnet.fast: the products taken a block of examples at a time are the whole products."""

import numpy as np
import pytest

from digitnet.fast import BLOCK, W_dot, dZ_dot_At, example_blocks


@pytest.mark.parametrize("m", [128, 129, 200, 1000])
def test_products_taken_a_block_of_examples_at_a_time_equal_the_whole_products(m):
    rng = np.random.default_rng(m)
    W, A, dZ = rng.standard_normal((10, 784)), rng.standard_normal((784, m)), rng.standard_normal((10, m))
    assert example_blocks(10, 784, m) is not None  # these shapes do take the blocked path
    np.testing.assert_allclose(W_dot(W, A), W @ A, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dZ_dot_At(dZ, A), dZ @ A.T, rtol=1e-12, atol=1e-10)


def test_wide_layers_and_small_products_are_multiplied_whole():
    assert example_blocks(800, 784, 128) is None
    assert example_blocks(10, 784, BLOCK) is None
    assert example_blocks(10, 784, 127) is None  # under a million multiply-adds already
    assert example_blocks(10, 10, 60000) is None  # the second layer: short rows
    assert example_blocks(32, 256, 512) is None  # not narrow
