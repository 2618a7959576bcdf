"""An uploaded file -> a picture, decoded safely -> an ink map for MNIST's recipe."""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
from PIL import Image, ImageOps

from .mnist import Preprocessed, PreprocessError, _no_ink, to_mnist
from .paper import paper_ink, shrink

MAX_FILE_BYTES = 32 * 1024 * 1024  # bigger files are refused before decoding
MAX_PIXELS = 40_000_000  # decoded size limit (decompression bombs)
WORK_SIZE = 1000  # uploads are analysed at <= 1000x1000 px worth of pixels (plenty for a 20-px result)
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM")  # not EPS/PDF etc.: no external decoders


def from_bytes(data: bytes) -> Preprocessed:
    """An uploaded file's contents.  Raises PreprocessError (one plain sentence)
    for an empty, oversized, non-image, unsupported or damaged file."""
    if data is None or len(data) == 0:
        raise PreprocessError("The file is empty (0 bytes) — upload a PNG or JPEG picture of a digit.")
    if len(data) > MAX_FILE_BYTES:
        raise PreprocessError(
            f"The file is too large ({len(data) / 2**20:.0f} MB) — "
            f"upload a picture under {MAX_FILE_BYTES // 2**20} MB."
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
    lum, alpha = shrink(lum, longest), (None if alpha is None else shrink(alpha, longest))
    scale = (draft * up_w / lum.shape[1], draft * up_h / lum.shape[0])
    if alpha is not None and np.count_nonzero(alpha < 0.5) * 2 > alpha.size:
        return alpha, scale  # transparent background: the shape is in the alpha channel
    return paper_ink(lum), scale


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
