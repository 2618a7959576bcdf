"""MNIST's recipe: an ink map of any size -> the 28x28 image the network was trained on.

LeCun, Cortes & Burges describe how MNIST was made: the black-and-white NIST
digit was *size-normalised to fit a 20x20 pixel box while preserving its
aspect ratio* (the anti-aliasing of that resize is what makes the grey
levels), then *centred in a 28x28 field by its centre of mass*.  Measured on
the shipped test set: the ink's longer side is 20 px in every digit, and the
centre of mass lies in [13.5, 14.5] on both axes (row/column indices), i.e.
it was moved to (14, 14) by a whole-pixel shift.  Resizing a whole 280x280
canvas to 28x28 instead gives a small, thin, off-centre digit the network
never saw, which is why most drawing demos misread drawings.

    ink map (2-D, ink = 1 on background = 0)
      -> noise removed (faint values and small specks away from the digit)
      -> cropped to the ink's bounding box
      -> stroke width brought into MNIST's range (a 1-px line or a felt-tip blob)
      -> longer side scaled to 20 px, aspect kept, anti-aliased (Pillow's LANCZOS kernel)
      -> placed in 28x28 with the centre of mass at (14, 14)
      -> uint8 image the learner is shown, and x = image / 255 as a (784, 1) column,
         flattened row-major like the IDX file: the training range of the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..data import SIDE

# --- MNIST's geometry (measured on the shipped test set, see module docstring)
BOX = 20  # the ink's longer side after size normalisation
MASS_CENTRE = 14.0  # where the centre of mass goes, in row/column index units (not the middle, 13.5)

# --- Stroke width, as (estimated stroke width) / (bbox longer side), measured
# with `_stroke_ratio` on 3,000 MNIST test digits upscaled (bicubic) to 280 px:
# 5th percentile 0.060, median 0.089, 95th percentile 0.138.  A thinner stroke
# is thickened to the median, a thicker one beyond the 95th percentile thinned
# to it; between the two a drawing is left alone.  The asymmetry is because
# the two operations are not alike: thickening (dilation) loses nothing of a
# thin stroke's shape, and brings the faint grey a thin line leaves after the
# 20-px resize back to MNIST's solid strokes, while thinning (erosion) wipes
# out a stroke's thinner parts and breaks it into beads, so it is kept for
# strokes no MNIST writer made.
STROKE_RATIO_MEDIAN = 0.089
STROKE_RATIO_HI = 0.138

# --- What counts as ink
MIN_CONTRAST = 0.10  # a peak below 10 % of full scale is noise or a blank picture
NOISE_FRAC = 0.15  # ink fainter than 15 % of the peak is background haze
SPECK_FRAC = 0.08  # a blob with < 8 % of the largest blob's ink is a speck ...
SPECK_GAP = 0.1  # ... unless it is within a tenth of the digit's size of it: a broken stroke
MIN_EXTENT = 4  # px: anything smaller is not a digit at any resolution
MIN_EXTENT_FRAC = 0.03  # ... nor is a mark under 3 % of the picture's longer side
DOT_RATIO = 3.0  # a mark whose extent is under 3 stroke widths is a dot

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
    crop = a[top:bottom, left:right] * mask[top:bottom, left:right]
    extent = max(crop.shape)
    width = _stroke_width(crop, peak)
    if extent < max(MIN_EXTENT, MIN_EXTENT_FRAC * max(a.shape)) or extent < DOT_RATIO * width:
        return _no_ink(source, "speck")
    crop = _normalise_stroke(crop, width)
    small = _fit_box(crop)
    image28 = _centre_of_mass_in_field(small)
    sx, sy = _scale
    bbox = (int(left * sx), int(top * sy), int(math.ceil(right * sx)), int(math.ceil(bottom * sy)))
    x = (image28.astype(np.float32) / np.float32(255.0)).reshape(SIDE * SIDE, 1)  # row-major, like IDX
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
    (a "5"'s flag, a "4" drawn in two strokes) do not split it, and so it is fast.
    How far apart two pieces of one digit can be grows with the digit: cells
    within SPECK_GAP of its size are joined, so a thin stroke broken into pieces
    (a pen that skipped, a faint line cut by the photo's threshold) stays whole
    while a stray click well away from the digit still goes."""
    f = max(1, math.ceil(max(mask.shape) / 32))
    h, w = -(-mask.shape[0] // f), -(-mask.shape[1] // f)
    pad = np.zeros((h * f, w * f), np.uint8)
    pad[: mask.shape[0], : mask.shape[1]] = mask
    # ink pixels per cell: rows first, then columns of the small result, in the
    # smallest type that holds a cell's f*f pixels
    count = pad.reshape(h, f, w * f).sum(axis=1, dtype=np.min_scalar_type(f * f))
    count = np.einsum("hwf->hw", count.reshape(h, w, f))
    occupied = count > 0
    labels, n = _label(occupied)
    if n <= 1:
        return mask
    blob = np.bincount(labels.ravel(), weights=count.ravel(), minlength=n + 1)
    top, bottom, left, right = _bbox(labels == 1 + int(np.argmax(blob[1:])))  # the largest blob: the digit
    r = int(SPECK_GAP * max(bottom - top, right - left))
    if r > 0:  # blobs that touch once grown by r are one
        labels, n = _label(_morph(occupied.view(np.uint8), r, np.maximum).view(bool))
        labels *= occupied
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
    # the loops below run on Python lists, which index faster than arrays one element at a time
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


# -- stroke width ---------------------------------------------------------------


def _stroke_width(crop: np.ndarray, peak: float = 1.0) -> float:
    """Mean stroke width in pixels of the ink at >= half the peak: for a band
    of width w and length L, area = wL and perimeter ~ 2L, so w ~ 2 * area /
    perimeter.  (The perimeter is counted along rows and columns, which
    overcounts diagonals a little; the MNIST calibration of STROKE_RATIO_*
    used this same estimator.)"""
    b = _at_least(crop, 0.5 * peak)
    area = np.count_nonzero(b)
    if area == 0:
        return 0.0
    p = np.zeros((b.shape[0] + 2, b.shape[1] + 2), bool)
    p[1:-1, 1:-1] = b
    perimeter = np.count_nonzero(p[:, 1:] != p[:, :-1]) + np.count_nonzero(p[1:, :] != p[:-1, :])
    return 2.0 * area / perimeter


def _stroke_ratio(crop: np.ndarray) -> float:
    return _stroke_width(crop) / max(crop.shape)


def _normalise_stroke(crop: np.ndarray, width: float) -> np.ndarray:
    """Bring the stroke width, relative to the digit's size, into MNIST's range
    (see STROKE_RATIO_*).  A 1-px pen line would become a faint 0.1-px hairline
    after the 20-px resize (or vanish); a felt-tip pen on a small digit fills
    its loops.  Both are outside anything the network was trained on."""
    extent = max(crop.shape)
    if width < STROKE_RATIO_MEDIAN * extent:
        # (width + 2r) / (extent + 2r) = median: the digit grows by r on each side too
        r = int(round((STROKE_RATIO_MEDIAN * extent - width) / (2 * (1 - STROKE_RATIO_MEDIAN))))
        if r > 0:
            return round_morph(zero_pad(crop, r, r), r, np.maximum)  # padded: the digit grows by r a side
    elif width > STROKE_RATIO_HI * extent:
        r = int(round((width - STROKE_RATIO_HI * extent) / 2))
        r = min(r, int(width / 2 * 0.6))  # never erode a stroke away
        if r > 0:
            return round_morph(crop, r, np.minimum)
    return crop


def round_morph(a: np.ndarray, r: int, op) -> np.ndarray:
    """Grey dilation or erosion with an octagon of radius r, near a disk: as a
    round pen would have drawn the stroke.  A square window would widen a
    diagonal stroke 1.4 times as much as an upright one.  The octagon is a
    (2s+1)-square and c 3x3 crosses added up (Minkowski sum), s + c = r, with
    s = 0.414 r so that its diagonal reach s + c / 2 is r / sqrt(2)."""
    s = round((math.sqrt(2.0) - 1.0) * r)
    out = _morph(a, s, op) if s else a
    for _ in range(r - s):
        m = zero_pad(out, 1, 1)
        out = op(op(op(op(m[1:-1, 1:-1], m[:-2, 1:-1]), m[2:, 1:-1]), m[1:-1, :-2]), m[1:-1, 2:])
    return out


def _morph(a: np.ndarray, r: int, op) -> np.ndarray:
    """Grey dilation (op = np.maximum) or erosion (np.minimum) with a
    (2r+1)-square window, separably (down the columns, then along the rows
    through the transpose) and by window doubling: O(log r) passes."""
    return _slide(_slide(a, r, op).T, r, op).T


def _slide(a: np.ndarray, r: int, op) -> np.ndarray:
    """op over the 2r+1 rows centred on each row; zeros outside: background."""
    k = 2 * r + 1
    m = zero_pad(a, r, 0)
    n = a.shape[0]  # output length == input length
    p = 1
    while 2 * p <= k:  # m[i] = op over [i, i + 2p)
        m = op(m[:-p], m[p:])
        p *= 2
    return op(m[:n], m[k - p : k - p + n])  # two overlapping windows of p cover k


def zero_pad(a: np.ndarray, ry: int, rx: int) -> np.ndarray:
    """a with ry rows of zeros above and below, rx columns either side (np.pad, for 2-D only)."""
    out = np.zeros((a.shape[0] + 2 * ry, a.shape[1] + 2 * rx), a.dtype)
    out[ry : ry + a.shape[0], rx : rx + a.shape[1]] = a
    return out


# -- MNIST's two steps -------------------------------------------------------------


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
    # a separable resize: two small matrix products (see the package's docstring)
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
    # In float32, in whole-matrix operations: t = pi |x| / 3, x = a tap's distance
    # from an output's centre in kernel units (the kernel is even).  Clipping t to [1e-30, pi] avoids 0/0 at
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
    top = min(max(int(round(MASS_CENTRE - cy)), 0), SIDE - h)
    left = min(max(int(round(MASS_CENTRE - cx)), 0), SIDE - w)
    field = np.zeros((SIDE, SIDE), np.uint8)
    field[top : top + h, left : left + w] = np.round(small * 255.0)
    return field
