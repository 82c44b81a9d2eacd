"""The Python binding against the Rust CLI on the committed quickstart model, and its refusals
of bad input. Needs libedgevae.so and the edgevae binary (`cargo build --release -p edgevae-ffi
-p edgevae-trainer`, as .ci/run does) and ONNX Runtime (`scripts/fetch-onnxruntime.sh`)."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

import edgevae

REPO = pathlib.Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "quickstart"
CLI = pathlib.Path(os.environ.get("EDGEVAE_CLI", REPO / "target" / "release" / "edgevae"))


def cli(*args):
    done = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def model():
    with edgevae.Model(MODEL, threads=1) as m:
        yield m


def dirty(x):
    """x with about 5 % of its values flipped (v -> 1 - v), rows 0 and 2 more."""
    flip = np.random.default_rng(1).random(x.shape) < 0.05
    flip[[0, 2], ::9] = True
    y = x.copy()
    y[flip] = 1 - y[flip]
    return y


def test_version_and_dimensions(model):
    assert edgevae.version().startswith("0.")
    assert (model.input_dim, model.latent) == (784, 32)


def test_samples_equal_the_cli(model, tmp_path):
    got = model.sampler().sample(8, seed=7)
    assert got.dtype == np.float32 and got.shape == (8, 784)
    cli("sample", "--model", MODEL, "-n", 8, "--seed", 7, "--threads", 1, "--out", tmp_path / "s.npy")
    want = np.load(tmp_path / "s.npy")
    np.testing.assert_array_equal(got, want)


def test_filter_equals_the_cli(model, tmp_path):
    x = dirty(model.sampler().sample(8, seed=3))
    scores, mask, cleaned = model.filter().run(x, passes=3)
    np.save(tmp_path / "x.npy", x)
    cli(
        "filter", "--model", MODEL, "--input", tmp_path / "x.npy", "--passes", 3,
        "--threads", 1, "--out", tmp_path / "f",
    )
    np.testing.assert_array_equal(scores, np.load(tmp_path / "f" / "scores.npy"))
    np.testing.assert_array_equal(mask, np.load(tmp_path / "f" / "mask.npy"))
    np.testing.assert_array_equal(cleaned, np.load(tmp_path / "f" / "cleaned.npy"))
    assert mask[0].any() and np.isfinite(cleaned).all()
    threshold = model.filter().score_threshold
    assert (scores[[0, 2]] > threshold).all()


def test_the_input_is_read_in_place(model):
    # A view of a larger C-contiguous array: its rows are used where they are, not copied.
    big = dirty(model.sampler().sample(6, seed=4))
    whole = model.filter().run(big, passes=1)
    part = model.filter().run(big[2:5], passes=1)
    np.testing.assert_array_equal(part[2], whole[2][2:5])


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (np.zeros((2, 784), dtype=np.float64), TypeError, "float32"),
        (np.zeros((2, 783), dtype=np.float32), ValueError, "[n, 784]"),
        (np.zeros((784,), dtype=np.float32), ValueError, "[n, 784]"),
        (np.zeros((0, 784), dtype=np.float32), ValueError, "n >= 1"),
        (np.zeros((2, 1568), dtype=np.float32)[:, ::2], ValueError, "C-contiguous"),
        ([[0.0] * 784], TypeError, "numpy array"),
    ],
)
def test_bad_arrays_are_refused_clearly(model, bad, error, words):
    with pytest.raises(error, match=None) as caught:
        model.filter().run(bad)
    assert words in str(caught.value)


def test_nan_is_an_error_naming_row_and_column(model):
    x = np.full((3, 784), 0.5, dtype=np.float32)
    x[1, 17] = np.nan
    with pytest.raises(edgevae.EdgevaeError) as caught:
        model.filter().run(x)
    e = caught.value
    assert e.status_name == "EDGEVAE_STATUS_NON_FINITE_INPUT"
    assert "row 1" in e.message and "17" in e.message


def test_bad_arguments_and_a_missing_directory(model, tmp_path):
    with pytest.raises(ValueError, match="positive"):
        model.sampler().sample(0)
    with pytest.raises(ValueError, match="passes"):
        model.filter().run(np.zeros((1, 784), dtype=np.float32), passes=0)
    with pytest.raises(ValueError, match="precision"):
        edgevae.Model(MODEL, precision="fp8")
    with pytest.raises(edgevae.EdgevaeError) as caught:
        edgevae.Model(tmp_path / "nothing-here")
    assert caught.value.status_name == "EDGEVAE_STATUS_IO"
    assert str(tmp_path / "nothing-here") in caught.value.message
    with pytest.raises(edgevae.EdgevaeError) as caught:
        edgevae.Model(MODEL, providers="gpu-of-dreams")
    assert caught.value.status_name == "EDGEVAE_STATUS_INVALID_ARGUMENT"


def test_every_precision_opens_and_samples_finite_values():
    for precision in edgevae.PRECISIONS:
        with edgevae.Model(MODEL, precision=precision, threads=1) as m:
            x = m.sampler().sample(2, seed=1)
            assert np.isfinite(x).all() and x.shape == (2, 784)


def test_real_valued_data_come_back_in_their_units(tmp_path):
    """A model trained by the CLI on raw values (mean 50, spread 10) samples and cleans, through
    the C ABI, in those units; its manifest carries the standardisation."""
    rng = np.random.default_rng(0)
    t = rng.standard_normal((600, 2))
    basis = rng.standard_normal((2, 12))
    raw = (50 + 10 * np.tanh(t @ basis)).astype(np.float32)
    np.save(tmp_path / "raw.npy", raw)
    cli(
        "train", "--data", tmp_path / "raw.npy", "--hidden", 32, "--latent", 4,
        "--stage2-width", 16, "--epochs", 4, "--stage2-epochs", 2, "--out", tmp_path / "run", "-q",
    )
    cli("export", "--run", tmp_path / "run", "--out", tmp_path / "model", "--precision", "fp32")
    manifest = __import__("json").loads((tmp_path / "model" / "manifest.json").read_text())
    s = manifest["standardization"]
    assert abs(s["center"] - 50) < 5 and 2 < s["scale"] < 20, s
    with edgevae.Model(tmp_path / "model", threads=1) as m:
        x = m.sampler().sample(200, seed=3)
        # In model units the samples would centre on 0; a model this small and brief samples
        # close to the data's centre, so their spread is not checked beyond not being constant.
        assert abs(x.mean() - 50) < 5 and x.std() > 0.1, (x.mean(), x.std())
        rows = np.ascontiguousarray(raw[:10])
        scores, mask, cleaned = m.filter().run(rows, passes=1)
        assert np.isfinite(cleaned).all() and abs(cleaned.mean() - 50) < 5
