"""A photo or scan of a digit on paper -> an ink map: the paper's uneven lighting
(a gradient, a phone's shadow) fitted as a smooth surface and taken away, and
which side of it is ink decided."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .mnist import MIN_CONTRAST


def shrink(a: np.ndarray, longest: int) -> np.ndarray:
    """Area-average down so the longer side is <= longest (a 1-px stroke turns
    grey, it does not vanish)."""
    h, w = a.shape
    if max(h, w) <= longest:
        return a
    s = longest / max(h, w)
    return np.asarray(
        Image.fromarray(a).resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BOX)
    )


def paper_ink(lum: np.ndarray) -> np.ndarray | None:
    """Photo/scan -> ink map.  Paper is lit unevenly (a gradient, a phone's
    shadow), so a smooth surface is fitted to the paper alone and subtracted.
    Faint texture and sensor noise are then cut with a threshold set from the
    measured noise, and the ink's core set to 1."""
    small = shrink(lum, 64)  # lighting is smooth: fit it on a 64-px copy
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
    """Least squares by the normal equations (16 unknowns: well conditioned, no SVD needed)."""
    return np.linalg.solve(basis.T @ basis + 1e-9 * np.eye(basis.shape[1]), basis.T @ v)


def _robust_peak(d: np.ndarray) -> float:
    """The ink's full strength, ignoring single hot pixels (max of a 2x2 mean)."""
    h, w = (d.shape[0] // 2) * 2, (d.shape[1] // 2) * 2
    if h == 0 or w == 0:
        return float(d.max())
    return float(d[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).max())
