"""Pictures inlined in the page (data: URLs) rather than st.image media files.

While a run trains, the live panel reruns several times a second, and Streamlit
may drop the media files of earlier runs: a picture drawn by the last full run
then becomes a broken link (HTTP 404). A picture carried in the page cannot.

They go through st.html, not st.markdown, so the browser does not run the markdown
parser over long data: URLs. The browser still spends time on them: with the weight
mosaic and the two heat strips, which change with every drawing, mouse-up -> prediction
measured 400-490 ms here, and 343 ms with those three pictures left out."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections import OrderedDict

import numpy as np
import streamlit as st
from PIL import Image


def png_data_url(image: np.ndarray) -> str:
    """A uint8 picture (grey or RGB) as a data: URL of a PNG (colours in a palette). Pictures are
    sent at their own size (28 x 28 for a digit) and scaled up by the browser, and the
    same picture is encoded once: a page run redraws the same weights many times."""
    image = np.ascontiguousarray(image)
    key = hashlib.blake2b(image.tobytes(), digest_size=16, person=str(image.shape).encode()[:16]).digest()
    with _lock:
        url = _encoded.get(key)
        if url is not None:
            _encoded.move_to_end(key)
            return url
    picture = Image.fromarray(image)
    if picture.mode == "RGB":
        # The colour pictures here are diverging ramps (red - white - blue) of hundreds of
        # shades: 256 of them are indistinguishable (9/255 at most per channel), and the
        # palette PNG is a quarter of the bytes the browser decodes after every stroke
        # (weight mosaic: 107 kB -> 27 kB) and 40x quicker to encode (75 ms -> 2 ms).
        picture = picture.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    with _lock:
        _encoded[key] = url
        while len(_encoded) > CACHED:
            _encoded.popitem(last=False)
    return url


CACHED = 256  # pictures kept encoded, for every session of the server (a few MB at most)
_encoded: OrderedDict[bytes, str] = OrderedDict()
_lock = threading.Lock()


def img_tag(image: np.ndarray, width: int) -> str:
    """The picture at `width` CSS pixels, its pixels kept square (the size and the fit
    are in the style: Streamlit's own styles drop or override the width attribute)."""
    return (
        f'<img src="{png_data_url(image)}" alt="" style="width:{width}px;max-width:100%;height:auto;'
        'object-fit:contain;image-rendering:pixelated;display:block;margin:0 auto">'
    )


def picture(image: np.ndarray, width: int, caption: str | None = None) -> None:
    """A picture inlined in the page, not an st.image media file: the live panel's reruns
    (several a second while a run trains) can drop earlier media files, so a picture
    from the last full run would be a broken link (HTTP 404)."""
    below = (
        ""
        if caption is None
        else f'<figcaption style="font-size:0.875rem;opacity:0.6;text-align:center">{caption}</figcaption>'
    )
    st.html(
        f'<figure style="margin:0;width:{width}px;max-width:100%">{img_tag(image, width)}{below}</figure>'
    )


def gallery(images: list[np.ndarray], captions: list[str], width: int) -> None:
    """Pictures side by side, each with its caption below, wrapping onto new lines."""
    figures = "".join(
        f'<figure style="margin:0;text-align:center">{img_tag(image, width)}'
        f'<figcaption style="font-size:0.875rem;opacity:0.6">{caption}</figcaption></figure>'
        for image, caption in zip(images, captions, strict=True)
    )
    st.html(f'<div style="display:flex;flex-wrap:wrap;gap:0.5rem 1rem">{figures}</div>')
