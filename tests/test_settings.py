"""digitnet.settings: what a person types for a training."""

import pytest

from digitnet.settings import batch_size_text, parse_batch_size, parse_hidden


def test_parse_hidden():
    assert parse_hidden("256,128") == (256, 128)
    assert parse_hidden("10") == (10,)
    for bad in ("", "0", "5000", "ten", "10,-1", "1,1,1,1,1"):
        with pytest.raises(ValueError):
            parse_hidden(bad)


def test_parse_hidden_never_echoes_a_long_entry_and_names_a_huge_number():
    with pytest.raises(ValueError) as refused:
        parse_hidden("x" * 100_000)
    assert "whole numbers" in str(refused.value) and len(str(refused.value)) < 200
    with pytest.raises(ValueError, match="between 1 and 4096 units \\(got a 5,000-digit number\\)"):
        parse_hidden("9" * 5000)
    with pytest.raises(ValueError) as refused:
        parse_hidden(",".join(["9999"] * 10_000))
    assert len(str(refused.value)) < 200


def test_all_is_the_full_batch_both_ways():
    assert parse_batch_size("all") is None and parse_batch_size(" ALL ") is None
    assert parse_batch_size("128") == 128 and parse_batch_size(128) == 128
    assert batch_size_text(None) == "all" and batch_size_text(128) == "128"
    with pytest.raises(ValueError, match="whole number or 'all'"):
        parse_batch_size("many")


def test_parse_batch_size_quotes_little_and_names_a_huge_number():
    with pytest.raises(ValueError) as refused:
        parse_batch_size("x" * 100_000)
    assert "whole number or 'all'" in str(refused.value) and len(str(refused.value)) < 200
    with pytest.raises(ValueError, match="a 5,000-digit number"):
        parse_batch_size("9" * 5000)
