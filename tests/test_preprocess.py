"""digitnet.preprocess: drawings and uploads -> MNIST-like 28x28 input.

Every test checks values (positions, widths, differences, messages), so each
can fail.  All inputs are made here (a few MNIST test digits, PIL drawings,
forged file headers); the whole file runs in a few seconds.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitnet.preprocess import (
    Preprocessed,
    PreprocessError,
    from_bytes,
    from_canvas,
    from_image,
    to_mnist,
    upload,
)
from digitnet.preprocess import mnist as P

MNIST_IMAGES = Path(__file__).resolve().parent.parent / "assets" / "mnist" / "t10k-images-idx3-ubyte.gz"


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def mnist() -> np.ndarray:
    """The first 200 MNIST test digits (28x28 uint8); header checked."""
    raw = gzip.decompress(MNIST_IMAGES.read_bytes())
    magic, n, h, w = struct.unpack(">IIII", raw[:16])
    assert (magic, h, w) == (2051, 28, 28)
    return np.frombuffer(raw, np.uint8, count=200 * 784, offset=16).reshape(200, 28, 28)


def canvas_of(ink: np.ndarray) -> np.ndarray:
    """uint8 ink -> the app canvas's image_data (white pen on opaque black RGBA)."""
    return np.dstack([ink, ink, ink, np.full_like(ink, 255)])


def place(digit: np.ndarray, height: int, top: int, left: int, size: int = 280) -> np.ndarray:
    """An MNIST digit cropped to its ink, scaled to `height` px, on a black canvas."""
    rows, cols = np.flatnonzero(digit.any(1)), np.flatnonzero(digit.any(0))
    d = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    width = max(1, round(d.shape[1] * height / d.shape[0]))
    big = np.asarray(Image.fromarray(d).resize((width, height), Image.Resampling.BICUBIC))
    out = np.zeros((size, size), np.uint8)
    out[top : top + height, left : left + width] = big
    return out


def drawn(lines, width: int, size=(280, 280)) -> np.ndarray:
    """Polylines drawn white on black like the canvas pen (round joints)."""
    im = Image.new("L", size, 0)
    for pts in lines:
        ImageDraw.Draw(im).line(pts, fill=255, width=width, joint="curve")
    return np.asarray(im)


def encode(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    a = img.astype(np.float64)
    ys, xs = np.mgrid[: a.shape[0], : a.shape[1]]
    return float((a * ys).sum() / a.sum()), float((a * xs).sum() / a.sum())


def ink_extent(img: np.ndarray, level: int = 1) -> tuple[int, int]:
    """(height, width) of the box holding the pixels >= level."""
    m = img >= level
    rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 28x28 images, in [0, 1] units."""
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean() / 255.0)


def forged_png(width: int, height: int) -> bytes:
    """A valid PNG signature + IHDR declaring width x height, and a tiny IDAT:
    a decompression bomb's shape, without the memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


# ----------------------------------------------------------------------------- MNIST's geometry


def test_output_contract(mnist):
    r = from_canvas(canvas_of(place(mnist[0], 200, 40, 60)))
    assert isinstance(r, Preprocessed) and r.has_ink and r.reason is None
    assert r.x.shape == (784, 1) and r.x.dtype == np.float32
    assert r.image28.shape == (28, 28) and r.image28.dtype == np.uint8
    # x is exactly what the learner is shown, /255, flattened row-major like the IDX file
    np.testing.assert_array_equal(r.x[:, 0], r.image28.reshape(-1).astype(np.float32) / 255)
    assert r.x[5 * 28 + 9, 0] == r.image28[5, 9] / np.float32(255)
    assert 0.0 <= r.x.min() and r.x.max() == 1.0


def test_redrawn_mnist_digit_comes_back_as_itself(mnist):
    """A test digit blown up onto the canvas must come back close to the
    original 28x28 (which was made by the procedure being reproduced)."""
    diffs = [mad(from_canvas(canvas_of(place(d, 200, 30, 50))).image28, d) for d in mnist[:20]]
    assert np.mean(diffs) < 0.05, diffs
    naive = [
        mad(np.asarray(Image.fromarray(place(d, 200, 30, 50)).resize((28, 28), Image.Resampling.LANCZOS)), d)
        for d in mnist[:20]
    ]
    assert np.mean(naive) > 2 * np.mean(diffs)  # the whole-canvas resize is far from MNIST


def test_longer_side_is_20_and_aspect_kept(mnist):
    for d in mnist[:10]:
        h, w = ink_extent(from_canvas(canvas_of(place(d, 150, 60, 70))).image28)
        oh, ow = ink_extent(d)
        assert max(h, w) == 20
        assert abs(w / h - ow / oh) < 0.2  # no stretching


def test_centre_of_mass_at_14_14(mnist):
    for i, d in enumerate(mnist[:12]):
        r = from_canvas(canvas_of(place(d, 90 + 10 * i, 10 + 5 * i, 170 - 12 * i)))
        cy, cx = centre_of_mass(r.image28)
        assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6, (i, cy, cx)


def test_shift_and_scale_invariance(mnist):
    for d in mnist[:8]:
        a = from_canvas(canvas_of(place(d, 240, 20, 30))).image28  # big, top-left
        b = from_canvas(canvas_of(place(d, 80, 180, 170))).image28  # small, bottom-right
        assert mad(a, b) < 0.04
    different = mad(
        from_canvas(canvas_of(place(mnist[0], 240, 20, 30))).image28,
        from_canvas(canvas_of(place(mnist[1], 240, 20, 30))).image28,
    )
    assert different > 0.08  # the measure can tell digits apart


def test_bbox_on_the_original(mnist):
    ink = place(mnist[0], 120, 50, 70)
    r = from_canvas(canvas_of(ink))
    rows, cols = np.flatnonzero((ink >= 38).any(1)), np.flatnonzero((ink >= 38).any(0))
    left, top, right, bottom = r.bbox
    assert abs(left - cols[0]) <= 1 and abs(top - rows[0]) <= 1
    assert abs(right - (cols[-1] + 1)) <= 1 and abs(bottom - (rows[-1] + 1)) <= 1


def test_resize_is_pillows_lanczos():
    """The 20-px resize is two matrix products; they must give what Pillow's
    LANCZOS gives on the zero-padded crop (the procedure it replaced), for
    shrinking and enlarging, tall, wide and square crops, in any units."""
    rng = np.random.default_rng(3)
    for h, w in [(274, 122), (90, 230), (150, 150), (60, 20), (12, 7), (5, 30), (21, 20)]:
        crop = (rng.random((h, w)) < 0.4) * rng.random((h, w)).astype(np.float32)
        s = 20 / max(h, w)
        out_w, out_h = (
            (20, 20)
            if h == w
            else (min(20, int(np.ceil(w * s)) + 1), 20)
            if h > w
            else (20, min(20, int(np.ceil(h * s)) + 1))
        )
        src_w, src_h = out_w / s, out_h / s
        pad_x, pad_y = int(np.ceil((src_w - w) / 2)) + 1, int(np.ceil((src_h - h) / 2)) + 1
        box = (
            pad_x + (w - src_w) / 2,
            pad_y + (h - src_h) / 2,
            pad_x + (w + src_w) / 2,
            pad_y + (h + src_h) / 2,
        )
        ref = np.asarray(
            Image.fromarray(np.pad(crop, ((pad_y, pad_y), (pad_x, pad_x)))).resize(
                (out_w, out_h), Image.Resampling.LANCZOS, box=box
            )
        )
        ref = np.clip(ref / ref.max(), 0, 1)
        got = P._fit_box(crop)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=1e-4)
        np.testing.assert_allclose(
            P._fit_box(np.round(crop * 255).astype(np.uint8)), got, atol=3e-3
        )  # uint8 units: the same up to rounding


# ----------------------------------------------------------------------------- strokes


def test_bare_vertical_line_stays_a_thin_one():
    for pen in (1, 3, 12):
        r = from_canvas(canvas_of(drawn([[(140, 40), (140, 240)]], pen)))
        assert r.has_ink
        h, w = ink_extent(r.image28, 64)
        assert h == 20 and w <= 3, (pen, h, w)  # not stretched into a blob
        assert r.image28.max() == 255  # and it did not fade away
        assert ink_extent(r.image28, 1)[1] <= 4


def test_hairline_digit_is_thickened_into_mnist_range():
    """A 1-px pen on a big digit would be a 0.1-px hairline after the resize."""
    thin = from_canvas(canvas_of(drawn([[(60, 40), (220, 40), (110, 250)]], 1))).image28
    normal = from_canvas(canvas_of(drawn([[(60, 40), (220, 40), (110, 250)]], 16))).image28
    assert (thin >= 128).sum() >= 0.6 * (normal >= 128).sum()
    assert mad(thin, normal) < 0.06


def test_felt_tip_on_small_digit_is_thinned():
    """A 30-px pen on a 100-px "0" fills the loop; thinning keeps the hole."""
    im = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(im).ellipse([100, 80, 170, 190], outline=255, width=30)
    r = from_canvas(canvas_of(np.asarray(im)))
    cy, cx = centre_of_mass(r.image28)
    assert r.image28[round(cy), round(cx)] < 64  # the hole is still open
    assert (r.image28 >= 128).mean() < 0.19  # unthinned: 0.23; MNIST: 90 % of digits <= 0.19


def test_thin_stroke_is_thickened_to_mnist_median_width():
    """A hairline, a 2-px and a 4-px pen on a big "7" all come out near MNIST's
    median stroke (width / size 0.089), not just at the edge of its range (0.06)."""
    for pen in (1, 2, 4):
        crop = drawn([[(60, 40), (220, 40), (110, 250)]], pen)
        top, bottom, left, right = P._bbox(crop > 0)
        crop = crop[top:bottom, left:right]
        out = P._normalise_stroke(crop, P._stroke_width(crop, 255.0))
        ratio = P._stroke_width(out, 255.0) / max(out.shape)
        assert 0.07 <= ratio <= 0.1, (pen, ratio)


def test_pen_width_hardly_changes_the_image():
    """The same "7" and "4" drawn with a 4-, 8-, 12- or 24-px pen give nearly the
    image of a 19-px pen (MNIST's median stroke at this size): thin pens are
    thickened round, as a round pen draws, so diagonals are not fattened."""
    for lines in (
        [[(60, 40), (220, 40), (110, 250)]],
        [[(150, 40), (60, 170), (220, 170)], [(170, 110), (170, 250)]],
    ):
        ref = from_canvas(canvas_of(drawn(lines, 19))).image28
        for pen in (4, 8, 12, 24):
            im = from_canvas(canvas_of(drawn(lines, pen))).image28
            assert mad(im, ref) < 0.03, pen  # a square window: 0.053 for the 4-px "7"
            assert abs(int(im.sum()) - int(ref.sum())) < 0.2 * int(ref.sum()), pen


def test_round_dilation_stays_within_a_disk():
    for r in (1, 2, 5, 10, 20):
        dot = np.zeros((2 * r + 1, 2 * r + 1), np.uint8)
        dot[r, r] = 1
        grown = P.round_morph(dot, r, np.maximum).astype(bool)
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
        # an octagon's corners are 1.08 r out (a regular one's), a square's 1.41 r
        assert not (grown & (yy**2 + xx**2 > (1.09 * r + 0.5) ** 2)).any(), r
        assert grown[yy**2 + xx**2 <= (0.9 * r) ** 2].all(), r
        assert grown[r].sum() == grown[:, r].sum() == 2 * r + 1
        assert (
            P.round_morph(grown.astype(np.uint8), r, np.minimum)[r, r] == 1
        )  # erosion undoes it at the centre


def test_stroke_width_estimate():
    band = np.zeros((200, 200), np.float32)
    band[20:180, 90:102] = 1.0
    assert abs(P._stroke_width(band) - 12 * 160 / 172) < 0.5  # 2*area/perimeter
    assert P._stroke_width((band * 200).astype(np.uint8), peak=200) == P._stroke_width(
        band
    )  # in the ink map's own units


def test_morphology_matches_a_direct_window():
    rng = np.random.default_rng(1)
    a = rng.random((23, 17)).astype(np.float32)
    for r in (1, 2, 3, 5):
        k = 2 * r + 1
        p = np.pad(a, r)
        want = np.array([[p[i : i + k, j : j + k].max() for j in range(17)] for i in range(23)])
        np.testing.assert_allclose(P._morph(a, r, np.maximum), want)
        pz = np.pad(a, r)  # zeros outside for erosion too
        want = np.array([[pz[i : i + k, j : j + k].min() for j in range(17)] for i in range(23)])
        np.testing.assert_allclose(P._morph(a, r, np.minimum), want)


# ----------------------------------------------------------------------------- no ink


@pytest.mark.parametrize(
    "canvas",
    [
        np.zeros((280, 280, 4), np.uint8),  # transparent, nothing drawn
        canvas_of(np.zeros((280, 280), np.uint8)),  # opaque black, nothing drawn
        np.full((280, 280, 4), 255, np.uint8),  # opaque white, nothing drawn
        canvas_of(np.full((280, 280), 12, np.uint8)),  # a faint cast, no stroke
        None,  # the canvas component before any drawing
    ],
)
def test_empty_canvas_gives_no_prediction(canvas):
    r = from_canvas(canvas)
    assert r.x is None and r.image28 is None and r.bbox is None and not r.has_ink
    assert r.reason == "The canvas is empty — draw a digit."


def dot(x: int, y: int, diameter: int) -> np.ndarray:
    im = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(im).ellipse([x, y, x + diameter, y + diameter], fill=255)
    return np.asarray(im)


@pytest.mark.parametrize(
    "speck",
    [
        dot(50, 60, 20),  # one click of a 20-px pen
        dot(200, 200, 30),  # one click of a 30-px pen
        drawn([[(200, 30), (203, 31)]], 4),  # a tiny scratch
    ],
)
def test_speck_gives_no_prediction(speck):
    r = from_canvas(canvas_of(speck))
    assert r.x is None and "tiny mark" in r.reason


def test_blank_photo_gives_no_prediction():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:300, 0:400]
    paper = 190 + 30 * xx / 400 - 20 * yy / 300 + rng.normal(0, 4, (300, 400))
    r = from_image(Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)))
    assert r.x is None and "blank" in r.reason


def test_stray_speck_is_ignored_next_to_a_digit(mnist):
    clean = place(mnist[3], 150, 100, 120)
    dirty = clean.copy()
    dirty[10:16, 10:16] = 255  # a stray click far away
    a, b = from_canvas(canvas_of(clean)), from_canvas(canvas_of(dirty))
    assert b.bbox == a.bbox
    np.testing.assert_array_equal(a.image28, b.image28)


def test_two_stroke_digit_is_kept_whole():
    """A "4" drawn as two separate strokes: the second stroke is not a speck."""
    ink = drawn([[(150, 40), (60, 170), (220, 170)], [(170, 110), (170, 250)]], 14)
    r = from_canvas(canvas_of(ink))
    assert r.bbox[3] >= 250 and r.bbox[2] >= 220


def test_broken_stroke_is_kept_whole():
    """A "1" whose stroke broke (a pen that skipped): the short piece 32 px below
    the bar holds 7 % of the ink, but it is close to the digit for its size, so
    it is part of it, not a speck."""
    ink = drawn([[(140, 20), (140, 200)], [(140, 232), (140, 245)]], 6)
    assert from_canvas(canvas_of(ink)).bbox[3] >= 245  # dropped as a speck: 201


def test_label_8_connected_components():
    m = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 0, 1]], bool)
    labels, n = P._label(m)
    assert n == 4
    assert labels[0, 0] == labels[1, 1] != labels[0, 3]  # diagonal neighbours join
    assert labels[0, 3] == labels[1, 3]
    assert len({labels[3, 0], labels[3, 3], labels[0, 0], labels[0, 3]}) == 4
    one = np.array([[0, 1, 1], [1, 0, 0], [0, 1, 1]], bool)
    labels, n = P._label(one)
    assert n == 1 and (labels == one).all()


# ----------------------------------------------------------------------------- canvas variants


def test_canvas_transparency_stroke_in_alpha(mnist):
    ink = place(mnist[2], 200, 40, 40)
    opaque = from_canvas(canvas_of(ink))
    for colour in (0, 255):  # black or white pen on a transparent canvas
        rgba = np.zeros((280, 280, 4), np.uint8)
        rgba[..., :3] = np.where(ink[..., None] > 0, colour, 0)
        rgba[..., 3] = ink
        r = from_canvas(rgba)
        np.testing.assert_array_equal(r.image28, opaque.image28)


def test_canvas_other_dtypes_and_colours(mnist):
    ink = place(mnist[4], 180, 50, 50)
    ref = from_canvas(canvas_of(ink)).image28
    rgba_f = canvas_of(ink).astype(np.float32) / 255  # float 0..1
    assert mad(from_canvas(rgba_f).image28, ref) < 0.005
    assert mad(from_canvas(canvas_of(ink)[..., :3]).image28, ref) < 0.005  # HxWx3
    assert mad(from_canvas(ink).image28, ref) < 0.005  # HxW grey
    black_on_white = canvas_of(255 - ink)
    assert mad(from_canvas(black_on_white).image28, ref) < 0.005
    red = canvas_of(np.zeros_like(ink))
    red[..., 0] = ink  # a red pen on black
    assert mad(from_canvas(red).image28, ref) < 0.005


def test_canvas_odd_sizes(mnist):
    for h, w in [(97, 333), (500, 120), (28, 28)]:
        ink = np.asarray(
            Image.fromarray(place(mnist[5], 200, 40, 40)).resize((w, h), Image.Resampling.BILINEAR)
        )
        r = from_canvas(canvas_of(ink))
        assert r.has_ink and max(ink_extent(r.image28)) == 20
    with pytest.raises(PreprocessError):
        from_canvas(np.zeros((10, 10, 5), np.uint8))
    with pytest.raises(PreprocessError):
        from_canvas(np.zeros((0, 10, 4), np.uint8))


def test_to_mnist_accepts_both_scales(mnist):
    ink = place(mnist[6], 200, 40, 40)
    ref = to_mnist(ink).image28
    np.testing.assert_array_equal(to_mnist(ink.astype(np.float32) / 255).image28, ref)
    np.testing.assert_array_equal(to_mnist(ink.astype(np.float64)).image28, ref)
    assert to_mnist(np.zeros((50, 50))).reason is not None


# ----------------------------------------------------------------------------- uploads


@pytest.fixture(scope="module")
def photo(mnist) -> Image.Image:
    """A 'photo': dark ink on unevenly lit grey paper with sensor noise."""
    ink = place(mnist[7], 220, 50, 110, size=320).astype(np.float64) / 255
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:320, 0:320] / 320
    paper = 200 - 50 * xx + 25 * yy - 40 * np.exp(-((xx - 0.7) ** 2 + (yy - 0.3) ** 2) / 0.1)
    grey = paper * (1 - ink) + 40 * ink + rng.normal(0, 5, ink.shape)
    return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))


def test_photo_on_uneven_paper_matches_the_clean_drawing(mnist, photo):
    clean = from_canvas(canvas_of(place(mnist[7], 220, 50, 110, size=320)))
    r = from_image(photo)
    assert r.has_ink and mad(r.image28, clean.image28) < 0.05
    assert all(
        abs(a - b) <= 6 for a, b in zip(r.bbox, clean.bbox, strict=True)
    )  # soft edges may lose a few px


def test_polarity_dark_on_light_equals_light_on_dark(mnist):
    ink = place(mnist[8], 200, 40, 60)
    light_on_dark = from_bytes(encode(Image.fromarray(ink)))
    dark_on_light = from_bytes(encode(Image.fromarray(255 - ink)))
    assert light_on_dark.has_ink and dark_on_light.has_ink
    assert mad(light_on_dark.image28, dark_on_light.image28) < 0.01
    fat = drawn([[(140, 20), (140, 260)], [(60, 130), (220, 130)]], 70)  # ink covering ~half the picture
    a, b = from_image(Image.fromarray(fat)), from_image(Image.fromarray(255 - fat))
    assert a.bbox == b.bbox and a.bbox[0] <= 110 and a.bbox[3] >= 260  # the cross, not the paper, is the ink


@pytest.mark.parametrize("mode", ["RGB", "L", "LA", "P", "I;16", "RGBA", "CMYK", "1", "F"])
def test_upload_modes(mnist, mode):
    ink = place(mnist[9], 200, 40, 60)
    paper = (255 - ink) * 0.8 + 20  # dark on light grey
    ref = from_image(Image.fromarray(paper.astype(np.uint8)))
    if mode == "I;16":
        im = Image.fromarray((paper * 257).astype(np.uint16))  # 16-bit: convert("L") would clip it
    elif mode == "F":
        im = Image.fromarray((paper / 255).astype(np.float32))
    elif mode == "1":
        im = Image.fromarray(paper.astype(np.uint8)).convert("1", dither=Image.Dither.NONE)
    else:
        im = Image.fromarray(paper.astype(np.uint8)).convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "F") else "PNG"
    r = from_bytes(encode(im, fmt))
    assert r.has_ink, r.reason
    assert mad(r.image28, ref.image28) < (0.03 if mode == "1" else 0.01)


def test_upload_with_transparent_background(mnist):
    ink = place(mnist[10], 200, 40, 60)
    rgba = np.zeros((280, 280, 4), np.uint8)  # black strokes on transparency
    rgba[..., 3] = ink
    r = from_bytes(encode(Image.fromarray(rgba)))
    ref = from_canvas(canvas_of(ink))
    assert mad(r.image28, ref.image28) < 0.005


def test_exif_rotated_jpeg(mnist):
    ink = place(mnist[11], 200, 20, 30, size=240)
    upright = Image.fromarray(255 - ink).convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a phone stores it, sideways ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... with "rotate 90 clockwise to display"
    r = from_bytes(encode(stored, "JPEG", quality=95, exif=exif))
    ref = from_image(upright)
    assert mad(r.image28, ref.image28) < 0.03
    assert all(abs(a - b) <= 2 for a, b in zip(r.bbox, ref.bbox, strict=True))


def test_big_jpeg_is_decoded_small_and_bbox_is_in_full_size_pixels(monkeypatch):
    ink = drawn([[(600, 300), (1800, 300), (1000, 1700)]], 80, size=(2400, 2000))
    data = encode(Image.fromarray(255 - ink).convert("RGB"), "JPEG", quality=90)
    monkeypatch.setattr(upload, "MAX_PIXELS", 1_500_000)  # 4.8 MP: over the limit as stored ...
    r = from_bytes(data)  # ... but libjpeg decodes it at half size
    assert r.has_ink
    rows, cols = np.flatnonzero((ink > 128).any(1)), np.flatnonzero((ink > 128).any(0))
    want = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    assert all(abs(a - b) <= 12 for a, b in zip(r.bbox, want, strict=True)), (r.bbox, want)
    with pytest.raises(PreprocessError, match="too large"):
        from_bytes(encode(Image.fromarray(255 - ink), "PNG"))  # a PNG cannot be decoded small: refused


# ----------------------------------------------------------------------------- bad uploads


def _one_sentence(msg: str) -> bool:
    return msg.endswith(".") and msg.count(". ") == 0 and "Traceback" not in msg and len(msg) < 160


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (b"hello, this is a text file\n" * 20, "not a picture"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a picture"),
        (forged_png(9000, 6000), "too large"),  # 54 MP declared in a 100-byte file
        (forged_png(20000, 20000), "too large"),  # past PIL's own bomb limit
    ],
)
def test_bad_uploads_raise_a_plain_sentence(data, words):
    with pytest.raises(PreprocessError) as e:
        from_bytes(data)
    assert isinstance(e.value, ValueError)
    assert words in str(e.value) and _one_sentence(str(e.value)), str(e.value)


def test_truncated_png(mnist):
    data = encode(Image.fromarray(place(mnist[12], 200, 40, 60)))
    for cut in (len(data) // 2, len(data) * 3 // 4, 60):  # inside the image data
        with pytest.raises(PreprocessError) as e:
            from_bytes(data[:cut])
        assert _one_sentence(str(e.value)), str(e.value)


def test_oversized_file_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(upload, "MAX_FILE_BYTES", 1000)
    with pytest.raises(PreprocessError, match="too large"):
        from_bytes(b"\x00" * 1001)


def test_unusual_but_valid_pictures():
    assert not from_bytes(encode(Image.new("L", (1, 1), 128))).has_ink  # 1x1
    tall = np.full((4000, 3), 255, np.uint8)
    tall[1500:2500, 1] = 0
    r = from_bytes(encode(Image.fromarray(tall)))  # 3 px wide, 4000 tall
    assert r.has_ink and ink_extent(r.image28)[0] == 20 and ink_extent(r.image28, 64)[1] <= 3
    gif = Image.fromarray(drawn([[(60, 40), (220, 40), (110, 250)]], 16)).convert("P")
    assert from_bytes(encode(gif, "GIF")).has_ink
    with pytest.raises(PreprocessError):
        from_image("not an image")
