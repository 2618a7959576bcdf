"""digitnet.settings: what a person types for a training."""

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from digitnet.model_io import MAX_BYTES, load, save
from digitnet.network import Network
from digitnet.settings import MAX_PARAMS, batch_size_text, parse_batch_size, parse_hidden

ROOT = Path(__file__).parent.parent


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


def test_a_network_too_big_for_a_model_file_is_refused_and_the_largest_allowed_loads_back(tmp_path):
    """Never a model that cannot be loaded: 784-4096-4096-10 trains, but its file (80 MB of
    float32) is over what a model file may be, so it is refused before training, in a
    sentence. The largest network allowed is saved and loaded back."""
    with pytest.raises(ValueError, match=r"784-4096-4096-10 network has 20,037,642 weights and biases"):
        parse_hidden("4096,4096")
    largest = parse_hidden("4096,3000")  # 15.5 million weights and biases: near the limit
    net = Network.init((784, *largest, 10), seed=0)
    assert sum(p.size for p in net.params.values()) <= MAX_PARAMS
    rng = np.random.default_rng(0)  # trained weights compress little: as random as numbers get
    net.params.update(
        {k: rng.standard_normal(v.shape).astype(np.float32) * 0.01 for k, v in net.params.items()}
    )
    save(net, tmp_path / "largest.npz")
    assert load(tmp_path / "largest.npz")[0].sizes == net.sizes


def test_every_model_it_lets_you_train_can_be_uploaded_back():
    """The largest model file (model_io.MAX_BYTES) is within the upload limits, the server's
    and nginx's (deploy/nginx.conf): a 784-4096-10 model, 13 MB, was over the 10 MB limit, so
    a model downloaded from the app could not be uploaded back."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    limit = config["server"]["maxUploadSize"] * 2**20  # Streamlit's MB are MiB
    assert 4 * MAX_PARAMS < MAX_BYTES <= limit
    nginx = re.search(r"client_max_body_size (\d+)m;", (ROOT / "deploy" / "nginx.conf").read_text())
    assert int(nginx[1]) * 2**20 > limit  # behind nginx too (a request is a little more than its file)
