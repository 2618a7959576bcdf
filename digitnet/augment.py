"""Random data augmentation for 28x28 MNIST-style digits, vectorised in NumPy.

Why augment at all?
    Simard, Steinkraus & Platt (2003), "Best practices for convolutional neural
    networks applied to visual document analysis", showed that training on
    randomly distorted copies of the MNIST digits takes a plain 2-layer MLP
    from about 98.4% test accuracy to about 98.9% with affine distortions and
    about 99.3% with elastic ones.  This module does the affine part (plus
    stroke thickness), and adds the elastic displacement of digitnet.elastic
    when asked, in the same resampling; cheap enough for every mini-batch.
    The network sees a slightly different version of every digit in every
    epoch, so it cannot memorise pixels and has to learn shapes.

    It matters even more for this app: digits drawn on the canvas differ from
    MNIST in ways MNIST itself barely covers -- a mouse or finger gives a
    different stroke thickness, people slant and rotate their writing, and the
    digit may sit a pixel or two off-centre after preprocessing.  Each of the
    knobs below simulates one of those differences.

How it works (all images of a mini-batch at once, no Python loop over images):
    1. Stroke thickness: for a random subset of images, a grey dilation
       (max over the pixel and its 4 neighbours, a "+" shape) thickens the
       strokes, or a grey erosion (min over the same shape) thins them.  Both
       are computed from shifted views of a zero-padded batch.  Thinning is
       capped so it never removes more than a fixed fraction of the ink, so a
       digit drawn with a thin pen is thinned a little rather than erased.
    2. Affine warp: one random matrix per image (shear, rotation, scale about
       the image centre, then shift).  For every output pixel we compute where
       it comes from in the source image (the *inverse* map), giving a (b, 784)
       grid of source coordinates, and sample it with bilinear interpolation by
       gathering the 4 neighbouring pixels from a zero-padded copy of the batch
       with flat indices (``np.take``).  Anything mapped from outside the image
       reads the zero border, i.e. black background.

Coordinates used throughout: ``x`` is the column and ``y`` is the row of a
28x28 image, pixel centres are at integers 0..27, so the image centre is
(13.5, 13.5).  ``y`` points *down*, as on screen.

The training loop calls this for every mini-batch; benchmarks/augment_speed.py
times it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data import SIDE
from .elastic import displacement_fields

N_PIXELS = SIDE * SIDE
MIDDLE = (SIDE - 1) / 2.0  # 13.5: the middle between pixel centres 0 and 27 (what rotations turn about)

# Images are warped in chunks of this many: the ~10 scratch arrays of a chunk
# (~0.8 MB each) stay cache-friendly and memory stays bounded even if someone
# augments all 60,000 at once (256 measured fastest for batches of 128-1000).
# Also keeps the flat gather indices (< b * 31 * 31) tiny for int32.
_CHUNK = 256

# Sampling from a copy padded with zeros: 1 column/row before, 2 after, so that
# both neighbours x0 and x0 + 1 of any clamped coordinate in [-1, 28] exist.
_PAD_LO, _PAD_HI = 1, 2
_PSIDE = SIDE + _PAD_LO + _PAD_HI  # 31
_PSIZE = _PSIDE * _PSIDE

_GRID = np.arange(SIDE, dtype=np.float32)  # pixel-centre coordinates 0..27

# Thinning never removes more than this fraction of an image's ink (see thin()).
_MAX_THIN_LOSS = 0.35


# --------------------------------------------------------------------------- #
# Affine matrices
# --------------------------------------------------------------------------- #
def affine_matrices(
    rotation_deg=0.0,
    scale=1.0,
    shear=0.0,
    shift_x=0.0,
    shift_y=0.0,
    center: float = MIDDLE,
) -> np.ndarray:
    """Forward affine matrices, shape (b, 2, 3), from per-image parameters.

    Each argument is a scalar or a 1-D array of length b (broadcast together).
    A matrix ``A`` maps a *source* pixel position to its *destination*:
    ``[x', y'] = A[:, :2] @ [x, y] + A[:, 2]`` (x = column, y = row).

    The transform, about the image centre, applied in this order:
      * shear:    x += shear * (y - centre)   (horizontal slant, as in italics;
                  positive shear moves the bottom of the digit to the right)
      * rotation: by ``rotation_deg`` degrees, positive = counter-clockwise as
                  displayed (y points down), the same direction as ``np.rot90``
      * scale:    isotropic, > 1 enlarges
      * shift:    by (shift_x, shift_y) pixels, positive = right / down
    """
    rot, sc, sh, tx, ty = np.broadcast_arrays(
        *(
            np.atleast_1d(np.asarray(v, dtype=np.float64))
            for v in (rotation_deg, scale, shear, shift_x, shift_y)
        )
    )
    theta = np.deg2rad(rot)
    c, s = np.cos(theta), np.sin(theta)
    # Counter-clockwise on screen with y pointing down: R = [[c, s], [-s, c]].
    # M = scale * R @ [[1, shear], [0, 1]]
    m00 = sc * c
    m01 = sc * (c * sh + s)
    m10 = sc * -s
    m11 = sc * (-s * sh + c)
    A = np.empty(rot.shape + (2, 3), dtype=np.float64)
    A[..., 0, 0], A[..., 0, 1] = m00, m01
    A[..., 1, 0], A[..., 1, 1] = m10, m11
    # Keep the centre fixed, then shift:  dst = M (src - c) + c + t
    A[..., 0, 2] = center - (m00 + m01) * center + tx
    A[..., 1, 2] = center - (m10 + m11) * center + ty
    return A


def _invert(A: np.ndarray) -> np.ndarray:
    """Invert a batch of 2x3 affine matrices (b, 2, 3) analytically."""
    a, b, tx = A[:, 0, 0], A[:, 0, 1], A[:, 0, 2]
    c, d, ty = A[:, 1, 0], A[:, 1, 1], A[:, 1, 2]
    det = a * d - b * c
    if np.any(np.abs(det) < 1e-12):
        raise ValueError("affine matrix is singular")
    inv = np.empty_like(A)
    inv[:, 0, 0], inv[:, 0, 1] = d / det, -b / det
    inv[:, 1, 0], inv[:, 1, 1] = -c / det, a / det
    inv[:, 0, 2] = -(inv[:, 0, 0] * tx + inv[:, 0, 1] * ty)
    inv[:, 1, 2] = -(inv[:, 1, 0] * tx + inv[:, 1, 1] * ty)
    return inv


# --------------------------------------------------------------------------- #
# Warping (inverse map + bilinear gather)
# --------------------------------------------------------------------------- #
class Workspace:
    """Scratch arrays for the warp, kept by a caller that warps batch after batch
    (each Augment has its own): allocated afresh for every mini-batch, they made
    the warp two to three times slower (the memory went back to the system and
    was faulted in again). They only grow, up to _CHUNK images."""

    def __init__(self) -> None:
        self.n = 0

    def fit(self, b: int) -> Workspace:
        if b > self.n:
            self.n = b
            # the zero border is never written, so it stays zero between calls
            self.padded = np.zeros((b, _PSIDE, _PSIDE), dtype=np.float32)
            f = lambda: np.empty((b, N_PIXELS), dtype=np.float32)  # noqa: E731
            self.sx, self.sy, self.x0, self.y0 = f(), f(), f(), f()
            self.v00, self.v01, self.v10, self.v11 = f(), f(), f(), f()
            self.idx = np.empty((b, N_PIXELS), dtype=np.int32)
            self.base = (np.arange(b, dtype=np.int32) * _PSIZE + (_PAD_LO * _PSIDE + _PAD_LO))[:, None]
        return self


def _warp_chunk(
    X: np.ndarray, inv: np.ndarray, out: np.ndarray, disp: np.ndarray | None, ws: Workspace
) -> None:
    """Warp (b, 784) float32 images with inverse matrices inv (b, 2, 3) into
    ``out`` (b, 784) float32, each source position moved further by disp
    (b, 2, 784: dx, dy in pixels) if given.  b <= _CHUNK."""
    b = X.shape[0]
    ws = ws.fit(b)
    padded = ws.padded[:b]
    padded[:, _PAD_LO : _PAD_LO + SIDE, _PAD_LO : _PAD_LO + SIDE] = X.reshape(b, SIDE, SIDE)
    flat = padded.reshape(-1)
    sx, sy, x0, y0 = ws.sx[:b], ws.sy[:b], ws.x0[:b], ws.y0[:b]
    v00, v01, v10, v11, idx = ws.v00[:b], ws.v01[:b], ws.v10[:b], ws.v11[:b], ws.idx[:b]

    # Source coordinates of every output pixel (row r, column c):
    #   sx = i00 * c + i01 * r + i02,  sy = i10 * c + i11 * r + i12
    # The column term and the row term are each only (b, 28), so the full
    # (b, 28, 28) grids cost a single broadcast add each.
    inv32 = inv.astype(np.float32)
    col = _GRID[None, None, :]
    row = _GRID[None, :, None]
    grid = (b, SIDE, SIDE)
    np.add(
        inv32[:, 0, 0, None, None] * col,
        inv32[:, 0, 1, None, None] * row + inv32[:, 0, 2, None, None],
        out=sx.reshape(grid),
    )
    np.add(
        inv32[:, 1, 0, None, None] * col,
        inv32[:, 1, 1, None, None] * row + inv32[:, 1, 2, None, None],
        out=sy.reshape(grid),
    )
    if disp is not None:  # elastic distortion (digitnet.elastic): one resampling for both warps
        sx += disp[:, 0]
        sy += disp[:, 1]

    # Clamp to [-1, 28]: everything outside lands on the zero border (weight on
    # a real pixel is exactly 0 there), and x0 + 1 <= 29 stays inside the pad.
    np.clip(sx, -1.0, SIDE, out=sx)
    np.clip(sy, -1.0, SIDE, out=sy)
    np.floor(sx, out=x0)
    np.floor(sy, out=y0)
    sx -= x0  # now the fractional parts fx, fy in [0, 1)
    sy -= y0
    fx, fy = sx, sy

    # Flat index of the top-left neighbour in the padded batch (exact in
    # float32: y0 * 31 + x0 is a small integer).
    y0 *= _PSIDE
    y0 += x0
    np.copyto(idx, y0, casting="unsafe")
    idx += ws.base[:b]

    # Gather the 4 neighbours.  Indices are always in range, so mode="clip"
    # is only there because it lets take() write into ``out`` unbuffered.
    flat.take(idx, out=v00, mode="clip")
    idx += 1
    flat.take(idx, out=v01, mode="clip")
    idx += _PSIDE
    flat.take(idx, out=v11, mode="clip")
    idx -= 1
    flat.take(idx, out=v10, mode="clip")

    # Bilinear interpolation as three in-place lerps.
    v01 -= v00
    v01 *= fx
    v01 += v00  # top    = v00 + fx (v01 - v00)
    v11 -= v10
    v11 *= fx
    v11 += v10  # bottom = v10 + fx (v11 - v10)
    v11 -= v01
    v11 *= fy  # out    = top + fy (bottom - top)
    np.add(v11, v01, out=out)


def affine_batch(
    X_rows: np.ndarray,
    A: np.ndarray,
    displacement: np.ndarray | None = None,
    workspace: Workspace | None = None,
) -> np.ndarray:
    """Apply forward affine matrices to a batch of images.

    X_rows: (b, 784) images (28x28 row-major).
    A: (2, 3) for all images or (b, 2, 3), one per image; forward maps from
       source to destination pixel positions (see ``affine_matrices``).
    displacement: optional (b, 2, 784) source offsets dx, dy added after the
       affine map, i.e. output pixel p reads A^-1(p) + d(p) (``digitnet.elastic``).
    workspace: scratch arrays to reuse from call to call (a new one if None).
    Returns a new (b, 784) float32 array; pixels mapped from outside the image
    are 0.  Bilinear interpolation, so an integer shift is exact.
    """
    X = np.asarray(X_rows, dtype=np.float32).reshape(-1, N_PIXELS)
    b = X.shape[0]
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 2:
        A = np.broadcast_to(A, (b, 2, 3))
    if A.shape != (b, 2, 3):
        raise ValueError(f"A must have shape (2, 3) or ({b}, 2, 3), got {A.shape}")
    inv = _invert(A)
    out = np.empty((b, N_PIXELS), dtype=np.float32)
    workspace = workspace or Workspace()
    for start in range(0, b, _CHUNK):
        stop = min(start + _CHUNK, b)
        disp = None if displacement is None else displacement[start:stop]
        _warp_chunk(X[start:stop], inv[start:stop], out[start:stop], disp, workspace)
    return out


# --------------------------------------------------------------------------- #
# Stroke thickness (grey morphology with a "+" structuring element)
# --------------------------------------------------------------------------- #
def _cross_reduce(X: np.ndarray, op) -> np.ndarray:
    """op (np.maximum / np.minimum) over each pixel and its 4 neighbours."""
    b = X.shape[0]
    img = X.reshape(b, SIDE, SIDE)
    p = np.zeros((b, SIDE + 2, SIDE + 2), dtype=np.float32)  # zero = background
    p[:, 1:-1, 1:-1] = img
    out = img.copy()
    op(out, p[:, :-2, 1:-1], out=out)  # up
    op(out, p[:, 2:, 1:-1], out=out)  # down
    op(out, p[:, 1:-1, :-2], out=out)  # left
    op(out, p[:, 1:-1, 2:], out=out)  # right
    return out.reshape(b, N_PIXELS)


def thicken(X_rows: np.ndarray, strength=1.0) -> np.ndarray:
    """Thicker strokes: blend towards the grey dilation by ``strength`` in [0, 1]
    (scalar or one per image).  Adds up to about one pixel on each side."""
    X = np.asarray(X_rows, dtype=np.float32).reshape(-1, N_PIXELS)
    d = _cross_reduce(X, np.maximum)
    a = np.broadcast_to(np.asarray(strength, dtype=np.float32).reshape(-1, 1), (X.shape[0], 1))
    return X + a * (d - X)


def thin(X_rows: np.ndarray, strength=1.0) -> np.ndarray:
    """Thinner strokes: blend towards the grey erosion by ``strength``.

    A stroke only 1-2 pixels wide would vanish under a full erosion, so the
    blend is capped per image so that at most ``_MAX_THIN_LOSS`` (35%) of the
    ink is removed (before the peak brightness is restored, which only adds
    ink back): thin digits get a bit thinner, never erased.
    """
    X = np.asarray(X_rows, dtype=np.float32).reshape(-1, N_PIXELS)
    e = _cross_reduce(X, np.minimum)
    a = np.broadcast_to(np.asarray(strength, dtype=np.float32).reshape(-1, 1), (X.shape[0], 1))
    ink = X.sum(axis=1, keepdims=True)
    lost = ink - e.sum(axis=1, keepdims=True)  # ink removed by a full erosion
    cap = np.where(lost > 0, _MAX_THIN_LOSS * ink / np.maximum(lost, 1e-12), 1.0)
    a = np.minimum(a, cap.astype(np.float32))
    out = X - a * (X - e)
    # Erosion also dims the stroke cores (MNIST strokes are only 2-3 px wide),
    # but a thin pen is thin, not faint: restore each image's peak brightness.
    peak_in = X.max(axis=1, keepdims=True)
    peak_out = out.max(axis=1, keepdims=True)
    out *= np.where(peak_out > 0, peak_in / np.maximum(peak_out, 1e-12), 1.0).astype(np.float32)
    np.minimum(out, peak_in, out=out)  # rounding guard; keeps values <= 1
    return out


# --------------------------------------------------------------------------- #
# The augmentation used by the training loop
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Augment:
    """Random distortion of a mini-batch of MNIST-style digits.

    Call it as ``X_aug = Augment()(X_batch, rng)`` once per mini-batch.  All
    parameters are *maximum* strengths; every image gets its own random draw,
    uniform within the range.  Set everything to zero (and scale to (1, 1)) for
    the identity.

    The defaults are deliberately mild: MNIST digits are size-normalised into a
    20x20 box centred in the 28x28 frame, so there is a 4-pixel margin.  These
    ranges keep (nearly) every digit inside the frame and still clearly the
    same digit, while covering what differs on the drawing canvas (slant,
    size, off-centre placement, pen width).
    """

    # +-2 px each axis: the canvas preprocessing centres by centre of mass, but
    # a drawing is never placed exactly like MNIST; 2 px stays inside the
    # 4-px margin.  Sub-pixel shifts are allowed (bilinear interpolation).
    max_shift: float = 2.0
    # +-12 degrees: people tilt their writing; much more than ~15 degrees
    # starts to blur the line between look-alike pairs such as 1/7.
    max_rotation: float = 12.0
    # +-15% size: the canvas digit fills the 20x20 box more or less tightly.
    scale: tuple[float, float] = (0.85, 1.15)
    # Horizontal shear +-0.15 (about +-8.5 degrees of slant, italic-like
    # writing); a different deformation from rotation because the baseline
    # stays horizontal.
    max_shear: float = 0.15
    # 30% of images get a thicker or thinner stroke (50/50): mouse, finger and
    # stylus give very different pen widths from the MNIST pens.
    thickness_p: float = 0.3
    # Elastic distortion (digitnet.elastic): strength alpha in pixels, 0 = off;
    # sigma, the smoothness of the field.  Simard et al. (2003): alpha 34, sigma 4.
    elastic_alpha: float = 0.0
    elastic_sigma: float = 4.0
    workspace: Workspace = field(default_factory=Workspace, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lo, hi = self.scale
        if not (0 < lo <= hi):
            raise ValueError(f"scale must satisfy 0 < low <= high, got {self.scale}")
        for name in ("max_shift", "max_rotation", "max_shear"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if not 0.0 <= self.thickness_p <= 1.0:
            raise ValueError("thickness_p must be in [0, 1]")
        if self.max_shear >= 1.0:
            raise ValueError("max_shear must be < 1")
        if not (self.elastic_alpha >= 0 and self.elastic_sigma > 0):
            raise ValueError("elastic_alpha must be >= 0 and elastic_sigma > 0")

    def random_matrices(self, b: int, rng: np.random.Generator) -> np.ndarray:
        """Draw b random forward affine matrices (b, 2, 3)."""
        rot = rng.uniform(-self.max_rotation, self.max_rotation, b)
        sc = rng.uniform(self.scale[0], self.scale[1], b)
        sh = rng.uniform(-self.max_shear, self.max_shear, b)
        shift = rng.uniform(-self.max_shift, self.max_shift, (2, b))
        return affine_matrices(rot, sc, sh, shift[0], shift[1])

    def __call__(self, X_rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return a new randomly distorted copy of X_rows.

        X_rows: (b, 784) float32 in [0, 1], white ink on black (MNIST / 255).
        Output: new (b, 784) array in [0, 1] with the same float dtype; the
        input is not modified.  Deterministic given the state of ``rng``.
        """
        X_in = np.asarray(X_rows)
        if X_in.ndim != 2 or X_in.shape[1] != N_PIXELS:
            raise ValueError(f"expected (b, {N_PIXELS}) rows, got {X_in.shape}")
        out_dtype = X_in.dtype if np.issubdtype(X_in.dtype, np.floating) else np.float32
        X = X_in.astype(np.float32, copy=False)
        b = X.shape[0]

        # Draw every random number up front, in a fixed order, so the result
        # depends only on the rng state (not on chunking or on which images
        # happen to be selected).
        A = self.random_matrices(b, rng)
        u_thick = rng.random(b)
        thicker = rng.random(b) < 0.5
        strength = rng.uniform(0.5, 1.0, b).astype(np.float32)
        # drawn last and only when on, so that runs without it see the same numbers as before
        disp = (
            displacement_fields(b, rng, self.elastic_alpha, self.elastic_sigma)
            if self.elastic_alpha
            else None
        )

        # 1) stroke thickness on the original pixel grid (subset only)
        sel = u_thick < self.thickness_p
        if sel.any():
            X = X.copy()  # never modify the caller's array
            up = np.flatnonzero(sel & thicker)
            down = np.flatnonzero(sel & ~thicker)
            if up.size:
                X[up] = thicken(X[up], strength[up])
            if down.size:
                X[down] = thin(X[down], strength[down])

        # 2) one random affine warp per image, and the elastic displacement
        out = affine_batch(X, A, disp, self.workspace)  # always a new array
        np.clip(out, 0.0, 1.0, out=out)  # bilinear rounding can overshoot by an ulp
        return out.astype(out_dtype, copy=False)
