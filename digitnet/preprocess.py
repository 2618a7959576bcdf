"""Turn a canvas drawing or an uploaded picture into the 784-vector the network reads.

A network trained on MNIST has only ever seen digits made one way, so a
drawing has to be made the same way before it is shown to the network.
LeCun, Cortes & Burges describe MNIST's procedure: the black-and-white NIST
digit was *size-normalised to fit a 20x20 pixel box while preserving its
aspect ratio* (the anti-aliasing of that resize is what makes the grey
levels), then *centred in a 28x28 field by its centre of mass*.  Measured on
the shipped test set: the ink's longer side is 20 px in every digit, and the
centre of mass lies in [13.5, 14.5] on both axes (row/column indices), i.e.
it was moved to (14, 14) by a whole-pixel shift.  Resizing a whole 280x280
canvas to 28x28 instead gives a small, thin, off-centre digit the network
never saw, which is why most drawing demos misread drawings.

The pipeline (every entry point ends in `to_mnist`):

    canvas RGBA / uploaded picture
      -> ink map (2-D float, ink = 1 on background = 0; polarity decided here)
      -> noise removed (faint values and small specks away from the digit)
      -> cropped to the ink's bounding box
      -> stroke width brought into MNIST's range (a 1-px line or a felt-tip blob)
      -> longer side scaled to 20 px, aspect kept, anti-aliased (Pillow's LANCZOS kernel)
      -> placed in 28x28 with the centre of mass at (14, 14)
      -> uint8 image the learner is shown, and x = image / 255 as a (784, 1) column,
         flattened row-major like the IDX file: the training range of the network.

No Streamlit here: the app, `python -m digitnet predict` and the tests share it.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

# --- MNIST's geometry (measured on the shipped test set, see module docstring)
SIZE = 28  # the field
BOX = 20  # the ink's longer side after size normalisation
CENTRE = 14.0  # where the centre of mass goes, in row/column index units

# --- Stroke width, as (estimated stroke width) / (bbox longer side), measured
# with `_stroke_ratio` on 3,000 MNIST test digits upscaled (bicubic) to 280 px:
# 5th percentile 0.060, median 0.089, 95th percentile 0.138.  Drawings outside
# that range are thickened/thinned to the nearest bound; inside it they are
# left alone, as MNIST never changed stroke widths.  (On the canvas benchmark
# this clamp beat both no change and pulling every digit to the median.)
STROKE_RATIO_LO = 0.060
STROKE_RATIO_HI = 0.138

# --- What counts as ink
MIN_CONTRAST = 0.10  # a peak below 10 % of full scale is noise or a blank picture
NOISE_FRAC = 0.15  # ink fainter than 15 % of the peak is background haze
SPECK_FRAC = 0.08  # a blob with < 8 % of the largest blob's ink is a speck
MIN_EXTENT = 4  # px: anything smaller is not a digit at any resolution
MIN_EXTENT_FRAC = 0.03  # ... nor is a mark under 3 % of the picture's longer side
DOT_RATIO = 3.0  # a mark whose extent is under 3 stroke widths is a dot

# --- Uploads
MAX_FILE_BYTES = 32 * 1024 * 1024  # bigger files are refused before decoding
MAX_PIXELS = 40_000_000  # decoded size limit (decompression bombs)
WORK_SIZE = 1000  # uploads are analysed at <= 1000x1000 px worth of pixels (plenty for a 20-px result)
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM")  # not EPS/PDF etc.: no external decoders

REASONS = {
    ("canvas", "empty"): "The canvas is empty — draw a digit.",
    ("canvas", "speck"): "There is only a tiny mark on the canvas — draw a whole digit.",
    (
        "image",
        "empty",
    ): "No ink was found in the picture — it looks blank; use a photo of one digit with clear contrast.",
    ("image", "speck"): "Only a tiny mark was found in the picture — use a photo where the digit is larger.",
}


class PreprocessError(ValueError):
    """An upload that cannot be read as a picture; the message is one plain sentence."""


@dataclass(frozen=True)
class Preprocessed:
    x: np.ndarray | None  # (784, 1) float32 in [0, 1]; None when there is no ink
    image28: np.ndarray | None  # (28, 28) uint8: exactly what the network sees (x = image28 / 255)
    bbox: (
        tuple[int, int, int, int] | None
    )  # (left, top, right, bottom) of the ink on the original, right/bottom exclusive (PIL's convention)
    reason: str | None  # a plain sentence for the learner when x is None

    @property
    def has_ink(self) -> bool:
        return self.x is not None


def _no_ink(source: str, kind: str) -> Preprocessed:
    return Preprocessed(None, None, None, REASONS[(source, kind)])


# ----------------------------------------------------------------------------- core


def to_mnist(
    ink: np.ndarray, *, source: str = "image", _scale: tuple[float, float] = (1.0, 1.0)
) -> Preprocessed:
    """The core: a 2-D ink map (white ink on black; floats in 0..1, or 0..255 / uint8)
    of any size -> the network's input, made the way MNIST was made.

    `source` ("canvas" or "image") only picks the wording of the no-ink reason;
    `_scale` maps bbox coordinates back to an original that was downscaled."""
    a, full = _ink_array(ink)
    peak = a.max() if a.size else 0
    if peak < MIN_CONTRAST * full:
        return _no_ink(source, "empty")
    mask = _drop_specks(_at_least(a, NOISE_FRAC * peak))  # background haze off, then specks
    top, bottom, left, right = _bbox(mask)
    # The crop stays in the ink map's own units (uint8 for a canvas: no float
    # copy until the resize).  Nothing before the resize depends on the scale,
    # and the resize brings the strongest ink to full scale, as MNIST's strokes
    # peak at 255 whatever the pen.
    crop = (
        a[top:bottom, left:right] * mask[top:bottom, left:right]
    )  # (several times faster than np.where(mask, a, 0))
    extent = max(crop.shape)
    width = _stroke_width(crop, peak)
    if extent < max(MIN_EXTENT, MIN_EXTENT_FRAC * max(a.shape)) or extent < DOT_RATIO * width:
        return _no_ink(source, "speck")
    crop = _normalise_stroke(crop, width)
    small = _fit_box(crop)
    image28 = _centre_of_mass_in_field(small)
    sx, sy = _scale
    bbox = (int(left * sx), int(top * sy), int(math.ceil(right * sx)), int(math.ceil(bottom * sy)))
    x = (image28.astype(np.float32) / np.float32(255.0)).reshape(
        SIZE * SIZE, 1
    )  # row-major, like the IDX file
    return Preprocessed(x, image28, bbox, None)


def _ink_array(ink: np.ndarray) -> tuple[np.ndarray, float]:
    """-> (2-D array with values >= 0, its full-scale value: 255 or 1)."""
    a = np.asarray(ink)
    if a.ndim != 2:
        raise PreprocessError(f"An ink map must be a 2-D array, not one of shape {a.shape}.")
    if a.dtype == np.uint8:
        return a, 255.0
    a = np.nan_to_num(a.astype(np.float32))
    full = 255.0 if a.dtype.kind in "ui" or (a.size and a.max() > 1.0) else 1.0
    return np.clip(a, 0.0, full), full


def _at_least(a: np.ndarray, level: float) -> np.ndarray:
    """a >= level, compared in a's own dtype: an integer array against the
    ceiling of level (the same test), so no float copy of a is made."""
    return a >= (math.ceil(level) if a.dtype.kind in "ui" else level)


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(mask[top:bottom].any(axis=0))  # the columns only within the ink's rows
    return top, bottom, int(cols[0]), int(cols[-1]) + 1


def _drop_specks(mask: np.ndarray) -> np.ndarray:
    """Remove small blobs (dust on a photo, a stray click) that would otherwise
    stretch the bounding box and shrink the digit.  Blobs are found on a coarse
    grid (<= 32 cells a side) so that the gaps between a digit's own strokes
    (a "5"'s flag, a "4" drawn in two strokes) do not split it, and so it is fast."""
    f = max(1, math.ceil(max(mask.shape) / 32))
    h, w = -(-mask.shape[0] // f), -(-mask.shape[1] // f)
    pad = np.zeros((h * f, w * f), np.uint8)
    pad[: mask.shape[0], : mask.shape[1]] = mask
    # Ink pixels per cell: rows first (contiguous, fast), then columns of the
    # small result (einsum: numpy's sum over a short last axis is ~3x slower),
    # in the smallest type that holds a cell's f*f pixels (uint8 on a canvas:
    # no widening cast).
    count = pad.reshape(h, f, w * f).sum(axis=1, dtype=np.min_scalar_type(f * f))
    count = np.einsum("hwf->hw", count.reshape(h, w, f))
    labels, n = _label(count > 0)
    if n <= 1:
        return mask
    blob = np.bincount(labels.ravel(), weights=count.ravel(), minlength=n + 1)
    keep = blob >= SPECK_FRAC * blob[1:].max()
    keep[0] = False
    if keep[1:].all():
        return mask
    cells = keep[labels]
    return mask & np.repeat(np.repeat(cells, f, axis=0), f, axis=1)[: mask.shape[0], : mask.shape[1]]


def _label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a small boolean grid, by union-find over
    horizontal runs (no scipy).  Returns (labels with 0 = background, count)."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    d = padded[:, 1:] - padded[:, :-1]
    r_start, c_start = np.nonzero(d == 1)
    _, c_end = np.nonzero(d == -1)  # same order: row-major, one end per start (exclusive)
    # The loops below run on Python lists: indexing a numpy array element by
    # element is several times slower.
    starts, ends = c_start.tolist(), c_end.tolist()
    parent = list(range(len(starts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(r_start, np.arange(h + 1)).tolist()
    for r in range(1, h):
        prev = range(row_first[r - 1], row_first[r])
        for j in range(row_first[r], row_first[r + 1]):
            for i in prev:  # runs touch (8-connected) if their spans, widened by 1, overlap
                if starts[i] <= ends[j] and starts[j] <= ends[i]:
                    parent[find(i)] = find(j)
    roots = [find(i) for i in range(len(parent))]
    ids = {root: k + 1 for k, root in enumerate(dict.fromkeys(roots))}
    if len(ids) <= 1:  # the usual case, a digit in one piece: the labels are the mask
        return mask.astype(np.int32), len(ids)
    # Paint every run at once: its label at its start, minus it just past its
    # end, summed along the row (runs in a row are apart, so none of these collide).
    run_label = np.array([ids[root] for root in roots], np.int32)
    steps = np.zeros((h, w + 1), np.int32)
    steps[r_start, c_start] = run_label
    steps[r_start, c_end] = -run_label
    return np.cumsum(steps[:, :w], axis=1, dtype=np.int32), len(ids)


# ----------------------------------------------------------------------------- stroke width


def _stroke_width(crop: np.ndarray, peak: float = 1.0) -> float:
    """Mean stroke width in pixels of the ink at >= half the peak: for a band
    of width w and length L, area = wL and perimeter ~ 2L, so w ~ 2 * area /
    perimeter.  (The perimeter is counted along rows and columns, which
    overcounts diagonals a little; the MNIST calibration of STROKE_RATIO_*
    used this same estimator.)"""
    b = _at_least(crop, 0.5 * peak)
    area = np.count_nonzero(b)  # count_nonzero: far faster than sum() on booleans
    if area == 0:
        return 0.0
    p = np.zeros((b.shape[0] + 2, b.shape[1] + 2), bool)
    p[1:-1, 1:-1] = b
    perimeter = np.count_nonzero(p[:, 1:] != p[:, :-1]) + np.count_nonzero(p[1:, :] != p[:-1, :])
    return 2.0 * area / perimeter


def _stroke_ratio(crop: np.ndarray) -> float:
    return _stroke_width(crop) / max(crop.shape)


def _normalise_stroke(crop: np.ndarray, width: float) -> np.ndarray:
    """Bring the stroke width, relative to the digit's size, into MNIST's range.
    A 1-px pen line would become a faint 0.1-px hairline after the 20-px resize
    (or vanish); a felt-tip pen on a small digit fills its loops.  Both are
    outside anything the network was trained on."""
    extent = max(crop.shape)
    if width < STROKE_RATIO_LO * extent:
        r = int(round((STROKE_RATIO_LO * extent - width) / 2))
        if r > 0:
            return _morph(_zero_pad(crop, r, r), r, np.maximum)  # padded: the digit grows by r on each side
    elif width > STROKE_RATIO_HI * extent:
        r = int(round((width - STROKE_RATIO_HI * extent) / 2))
        r = min(r, int(width / 2 * 0.6))  # never erode a stroke away
        if r > 0:
            return _morph(crop, r, np.minimum)
    return crop


def _morph(a: np.ndarray, r: int, op) -> np.ndarray:
    """Grey dilation (op = np.maximum) or erosion (np.minimum) with a
    (2r+1)-square window, separably (down the columns, then along the rows
    through the transpose) and by window doubling: O(log r) passes."""
    return _slide(_slide(a, r, op).T, r, op).T


def _slide(a: np.ndarray, r: int, op) -> np.ndarray:
    """op over the 2r+1 rows centred on each row; zeros outside: background."""
    k = 2 * r + 1
    m = _zero_pad(a, r, 0)
    n = a.shape[0]  # output length == input length
    p = 1
    while 2 * p <= k:  # m[i] = op over [i, i + 2p)
        m = op(m[:-p], m[p:])
        p *= 2
    return op(m[:n], m[k - p : k - p + n])  # two overlapping windows of p cover k


def _zero_pad(a: np.ndarray, ry: int, rx: int) -> np.ndarray:
    """a with ry rows of zeros above and below, rx columns either side
    (np.pad does the same ~10x slower on arrays this small)."""
    out = np.zeros((a.shape[0] + 2 * ry, a.shape[1] + 2 * rx), a.dtype)
    out[ry : ry + a.shape[0], rx : rx + a.shape[1]] = a
    return out


# ----------------------------------------------------------------------------- MNIST's two steps


def _fit_box(crop: np.ndarray) -> np.ndarray:
    """MNIST step 1: longer side to 20 px, aspect ratio kept, anti-aliased.
    The LANCZOS kernel is widened by the reduction factor, so every source
    pixel contributes (true anti-aliasing: thin strokes turn grey instead of
    vanishing).  A bare "1" stays a thin 20-px-tall line: the shorter side is
    scaled by the same factor, never stretched, and it is given one spare
    output pixel so a stroke 1.3 px wide is drawn as 1.3 px of grey across two
    columns rather than squeezed into one."""
    h, w = crop.shape
    s = BOX / max(h, w)
    out_w, out_h = (
        (BOX, BOX)
        if h == w
        else (min(BOX, math.ceil(w * s) + 1), BOX)
        if h > w
        else (BOX, min(BOX, math.ceil(h * s) + 1))
    )
    # A separable resize is two small matrix products, far faster than
    # Pillow's per-tap loop over a 280-px crop (its 80-tap kernels).
    small = _lanczos(h, out_h, s) @ crop.astype(np.float32) @ _lanczos(w, out_w, s).T
    # Strokes that averaged below full intensity are brought back to MNIST's
    # saturated cores (its digits nearly all peak at 254-255); LANCZOS's
    # slight ringing below 0 is cut (nothing is above 1 after the division).
    return np.maximum(small / max(float(small.max()), 1e-6), 0.0)


def _lanczos(n_in: int, n_out: int, s: float) -> np.ndarray:
    """The (n_out, n_in) matrix that resamples one axis by the factor s,
    centred (the n_out outputs cover n_out / s inputs around the middle of
    the n_in), with zeros outside the crop: the weights of Pillow's LANCZOS
    (a = 3) on the crop padded with zeros to 1 px beyond that window.  Like
    Pillow, the kernel is stretched by 1 / s when shrinking, and cut off at
    the padded edge and renormalised, so this equals
    Image.resize(..., LANCZOS, box=...) on the padded crop (to float32 precision)."""
    src = n_out / s
    pad = math.ceil((src - n_in) / 2) + 1
    # In float32 (numpy's float64 sine is ~20x slower), and in as few whole-
    # matrix operations as possible (each costs microseconds at this size):
    # t = pi |x| / 3, x = a tap's distance from an output's centre in kernel
    # units (the kernel is even).  Clipping t to [1e-30, pi] avoids 0/0 at
    # x = 0 (sin(t)/t is exactly 1 there in float32) and gives 0 from
    # |x| = 3 on (sin(pi) = 0), where the kernel ends.
    k_per_px = np.float32(math.pi / 3 / max(1.0 / s, 1.0))
    taps = (np.arange(-pad, n_in + pad, dtype=np.float32) + 0.5) * k_per_px
    centres = ((n_in - src) / 2 + (np.arange(n_out, dtype=np.float32) + 0.5) / s) * k_per_px
    t = np.abs(taps - centres[:, None])
    np.clip(t, 1e-30, np.pi, out=t)
    sin = np.sin(t)
    k = sin / t  # sinc(x / 3)
    k *= k * (3 - 4 * sin * sin)  # * 3 sinc(x), as sin(3t) = sin(t) (3 - 4 sin(t)^2)
    k /= k.sum(axis=1, keepdims=True)
    return k[:, pad : pad + n_in]


def _centre_of_mass_in_field(small: np.ndarray) -> np.ndarray:
    """MNIST step 2: put the 20-px digit in a 28x28 field so that its centre of
    mass lands on (14, 14), by a whole-pixel shift as in MNIST.  The shift is
    clamped so no ink leaves the field (MNIST could crop a lopsided digit)."""
    h, w = small.shape
    rows, cols = small.sum(axis=1), small.sum(axis=0)
    total = rows.sum()
    cy = float(rows @ np.arange(h) / total)
    cx = float(cols @ np.arange(w) / total)
    top = min(max(int(round(CENTRE - cy)), 0), SIZE - h)
    left = min(max(int(round(CENTRE - cx)), 0), SIZE - w)
    field = np.zeros((SIZE, SIZE), np.uint8)
    field[top : top + h, left : left + w] = np.round(small * 255.0)
    return field


# ----------------------------------------------------------------------------- canvas


def from_canvas(rgba: np.ndarray | None) -> Preprocessed:
    """The drawing canvas's image_data: HxWx4 uint8 (also float 0..1/0..255,
    HxWx3, or HxW grey).  Either an opaque background (any colour, e.g. the app's
    white pen on black) or a transparent background with the stroke in alpha.
    None (the canvas before anything is drawn) reads as an empty canvas."""
    if rgba is None:
        return _no_ink("canvas", "empty")
    a = np.asarray(rgba)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or a.shape[0] == 0 or a.shape[1] == 0:
        raise PreprocessError(
            f"A canvas must be an HxWx4 (or HxWx3) image array, not one of shape {np.shape(rgba)}."
        )
    if a.dtype != np.uint8:
        f = np.nan_to_num(a.astype(np.float32))
        a = np.clip(np.rint(f * 255.0 if f.max() <= 1.0 else f), 0, 255).astype(np.uint8)
    return to_mnist(_canvas_ink(a), source="canvas")


def _canvas_ink(a: np.ndarray) -> np.ndarray:
    # The background is whatever fills the border (a digit rarely covers all of it).
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    bg = np.median(border, axis=0)
    if a.shape[2] == 4 and bg[3] < 128:
        return a[:, :, 3]  # transparent background: the stroke is the alpha channel
    # Ink is any departure from the background on any channel: white on black,
    # black on white and coloured pens alike.  (Channel by channel: numpy's
    # max over a 3-wide last axis is ~20x slower than two np.maximum calls.)
    chans = [a[:, :, c] for c in range(min(3, a.shape[2]))]
    if bg[: len(chans)].any():
        chans = [np.abs(ch.astype(np.int16) - int(b)).astype(np.uint8) for ch, b in zip(chans, bg)]
    ink = chans[0]
    for ch in chans[1:]:
        ink = np.maximum(ink, ch)
    return ink


# ----------------------------------------------------------------------------- uploads


def from_bytes(data: bytes) -> Preprocessed:
    """An uploaded file's contents.  Raises PreprocessError (one plain sentence)
    for an empty, oversized, non-image, unsupported or damaged file."""
    if data is None or len(data) == 0:
        raise PreprocessError("The file is empty (0 bytes) — upload a PNG or JPEG picture of a digit.")
    if len(data) > MAX_FILE_BYTES:
        raise PreprocessError(
            f"The file is too large ({len(data) / 2**20:.0f} MB) — upload a picture under {MAX_FILE_BYTES // 2**20} MB."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(bytes(data)), formats=FORMATS)
    except Image.DecompressionBombError:
        raise PreprocessError("The picture is far too large to open safely — upload a smaller one.") from None
    except Exception:  # PIL raises many types for non-images (UnidentifiedImageError, SyntaxError, ...)
        raise PreprocessError(
            "The file is not a picture that can be read — upload a PNG or JPEG image."
        ) from None
    return from_image(img)


def from_image(image: Image.Image) -> Preprocessed:
    """Any picture (a photo of a digit on paper, a scan, a saved drawing), in any
    mode; ink polarity is decided automatically.  bbox is in the pixels of the
    picture as displayed (EXIF rotation applied) at its full size."""
    if not isinstance(image, Image.Image):
        raise PreprocessError("Expected a picture (a PIL image) — upload a PNG or JPEG image of a digit.")
    ink, scale = _image_ink(image)
    if ink is None:
        return _no_ink("image", "empty")
    return to_mnist(ink, source="image", _scale=scale)


def _image_ink(image: Image.Image) -> tuple[np.ndarray | None, tuple[float, float]]:
    """Decode safely, then -> (ink map, factors mapping its pixels to the original's)."""
    full_w = image.size[0]
    try:
        # JPEG only (a no-op otherwise): decode a big photo at 1/2..1/8 scale
        # inside libjpeg, so a 50-megapixel phone photo never exists in memory.
        image.draft("L", (WORK_SIZE, WORK_SIZE))
    except Exception:
        pass
    w, h = image.size
    if w * h > MAX_PIXELS:  # checked before decoding: a small file can declare a huge image
        raise PreprocessError(
            f"The picture is too large ({w}x{h} pixels) — upload one under {MAX_PIXELS / 1e6:g} megapixels."
        )
    if w == 0 or h == 0:
        raise PreprocessError("The picture has no pixels — upload a PNG or JPEG image of a digit.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "palette images with transparency ..."
            image = ImageOps.exif_transpose(image)  # phones store photos sideways plus an EXIF rotation
            lum, alpha = _luminance_alpha(image)
    except PreprocessError:
        raise
    except Exception:  # truncated or corrupt data surfaces here, at decode time
        raise PreprocessError(
            "The picture is damaged or cut short and cannot be read — upload it again or try another file."
        ) from None
    draft = full_w / w  # 1 unless libjpeg decoded at reduced scale
    up_w, up_h = image.size
    # Work on at most ~1 megapixel (plenty for a 20-px result); by area, so a
    # long thin picture is not squeezed to nothing across.
    longest = (
        max(lum.shape)
        if lum.size <= WORK_SIZE**2
        else round(max(lum.shape) * WORK_SIZE / math.sqrt(lum.size))
    )
    lum, alpha = _shrink(lum, longest), (None if alpha is None else _shrink(alpha, longest))
    scale = (draft * up_w / lum.shape[1], draft * up_h / lum.shape[0])
    if alpha is not None and np.count_nonzero(alpha < 0.5) * 2 > alpha.size:
        return alpha, scale  # transparent background: the shape is in the alpha channel
    return _paper_ink(lum), scale


def _luminance_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Grey levels and alpha as float32 in 0..1, whatever the mode."""
    image.load()
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # convert("L") would clip 16-bit values at 255 instead of scaling them.
        a = np.asarray(image).astype(np.float32)
        top = (
            1.0
            if a.max(initial=0) <= 1.0
            else 255.0
            if a.max() <= 255
            else 65535.0
            if a.max() <= 65535
            else float(a.max())
        )
        return np.clip(a / top, 0.0, 1.0), None
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in mode else "RGB")  # 1, CMYK, YCbCr, LAB, HSV, PA, La, RGBa ...
    alpha = np.asarray(image.getchannel("A"), np.float32) / 255.0 if image.mode in ("LA", "RGBA") else None
    lum = np.asarray(image.convert("L"), np.float32) / 255.0
    return lum, alpha


def _shrink(a: np.ndarray, longest: int) -> np.ndarray:
    """Area-average down so the longer side is <= longest (a 1-px stroke turns
    grey, it does not vanish)."""
    h, w = a.shape
    if max(h, w) <= longest:
        return a
    s = longest / max(h, w)
    return np.asarray(
        Image.fromarray(a).resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BOX)
    )


def _paper_ink(lum: np.ndarray) -> np.ndarray | None:
    """Photo/scan -> ink map.  Paper is lit unevenly (a gradient, a phone's
    shadow), so a smooth surface is fitted to the paper alone and subtracted.
    Faint texture and sensor noise are then cut with a threshold set from the
    measured noise, and the ink's core set to 1."""
    small = _shrink(lum, 64)  # lighting is smooth: fit it on a 64-px copy
    v = small.ravel().astype(np.float64)
    sign, paper = _polarity(small)
    dy, dx = (min(3, n - 1) for n in small.shape)  # bicubic; less along a side too short to fit it
    basis = _basis(small.shape, dy, dx)
    for _ in range(3):  # refit on paper only: thick ink must not bend the surface
        coef = _solve(basis[paper], v[paper])
        resid = sign * (v - basis @ coef)
        paper = resid < 3.0 * _mad(resid[paper])
    surface = _powers(lum.shape[0], dy) @ coef.reshape(dy + 1, dx + 1) @ _powers(lum.shape[1], dx).T
    d = sign * (lum - surface.astype(np.float32))
    noise = _mad(d[d < 0]) if (d < 0).any() else 0.0  # the paper side of the surface is pure noise
    peak = _robust_peak(d)
    if peak < MIN_CONTRAST or peak < 6.0 * noise:
        return None
    t = max(4.0 * noise, 0.25 * peak)
    return np.clip((d - t) / (0.8 * peak - t), 0.0, 1.0).astype(np.float32)


def _polarity(small: np.ndarray) -> tuple[float, np.ndarray]:
    """Which side is ink?  The picture's rim is mostly paper, whatever the
    digit's size or thickness: fit the paper's lighting to the rim (a
    plane, robust to a digit touching the edge), extrapolate it inwards,
    and the ink is the side with the farther extreme from it (ink
    contrast beats what is left of the lighting; ink's area is not used, so
    a fat digit filling most of the picture is fine).
    -> (+1 light ink / -1 dark ink, first guess of the paper pixels)."""
    h, w = small.shape
    v = small.ravel().astype(np.float64)
    rim = np.ones((h, w), bool)
    rim[max(1, h // 16) : h - max(1, h // 16), max(1, w // 16) : w - max(1, w // 16)] = False
    rim = rim.ravel()
    basis = _basis(
        (h, w), min(1, h - 1), min(1, w - 1)
    )  # a (bilinear) plane extrapolates inwards safely; a quadratic does not
    resid = v - np.median(v[rim])
    use = rim & (np.abs(resid) <= np.median(np.abs(resid[rim])))  # the rim's most typical half: paper
    for _ in range(3):
        coef = _solve(basis[use], v[use])
        resid = v - basis @ coef
        noise = _mad(resid[use]) + 1e-4
        use = rim & (np.abs(resid) < 3.0 * noise)
    dark, light = np.percentile(resid, [0.5, 99.5])
    sign = 1.0 if light > -dark else -1.0
    return sign, sign * resid < 3.0 * noise


def _mad(r: np.ndarray) -> float:
    """Robust noise level (sigma) of residuals around zero."""
    return 1.4826 * float(np.median(np.abs(r))) if r.size else 0.0


def _powers(n: int, degree: int) -> np.ndarray:
    """1, t, ..., t^degree on n points of [-1, 1]: with the same for the other
    axis, a smooth surface for the paper's lighting, evaluated as Y @ C @ X.T."""
    t = np.linspace(-1.0, 1.0, n)
    return np.stack([t**k for k in range(degree + 1)], axis=1)


def _basis(shape: tuple[int, int], dy: int, dx: int) -> np.ndarray:
    """The design matrix of y^i x^j (i <= dy, j <= dx) over an h x w grid."""
    h, w = shape
    return np.einsum("ri,cj->rcij", _powers(h, dy), _powers(w, dx)).reshape(h * w, -1)


def _solve(basis: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Least squares by the normal equations (16 unknowns: far faster than lstsq)."""
    return np.linalg.solve(basis.T @ basis + 1e-9 * np.eye(basis.shape[1]), basis.T @ v)


def _robust_peak(d: np.ndarray) -> float:
    """The ink's full strength, ignoring single hot pixels (max of a 2x2 mean)."""
    h, w = (d.shape[0] // 2) * 2, (d.shape[1] // 2) * 2
    if h == 0 or w == 0:
        return float(d.max())
    return float(d[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).max())
