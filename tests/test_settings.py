"""digitnet.settings: what a person types for a training."""

import pytest

from digitnet.settings import parse_hidden


def test_parse_hidden():
    assert parse_hidden("256,128") == (256, 128)
    assert parse_hidden("10") == (10,)
    for bad in ("", "0", "5000", "ten", "10,-1", "1,1,1,1,1"):
        with pytest.raises(ValueError):
            parse_hidden(bad)
