"""Arrays in shared memory: made once, mapped (not copied) by another process."""

import pickle
import subprocess
import sys

import numpy as np

from digitnet.jobs import shared


def test_shared_arrays_are_read_only_copies_and_their_views_travel_as_refs():
    rng = np.random.default_rng(0)
    images, labels = rng.random((300, 784), dtype=np.float32), rng.integers(0, 10, 300)
    views = shared.share({"images": images, "labels": labels})
    np.testing.assert_array_equal(views["images"], images)
    np.testing.assert_array_equal(views["labels"], labels)
    assert not views["images"].flags.writeable
    r = shared.ref(views["images"][100:200])
    assert isinstance(r, shared.SharedRef) and r.shape == (100, 784)
    assert isinstance(shared.ref(views["labels"]), shared.SharedRef)
    private = np.arange(5)
    assert shared.ref(private) is private  # not in a shared block: passed as itself


def test_another_process_maps_the_same_memory():
    views = shared.share({"x": np.arange(1000, dtype=np.float32).reshape(100, 10)})
    part = views["x"][40:60]
    reader = (
        "import pickle, sys; from digitnet.jobs import shared; "
        "print(repr(shared.resolve(pickle.load(sys.stdin.buffer)).tolist()))"
    )
    for _ in range(2):  # twice: the first process's exit must not delete the block
        out = subprocess.run(
            [sys.executable, "-c", reader],
            input=pickle.dumps(shared.ref(part)),
            capture_output=True,
            timeout=60,
            check=True,
        )
        assert eval(out.stdout) == part.tolist()
