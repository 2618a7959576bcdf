"""Pictures inlined in the page (data: URLs) rather than st.image media files.

While a run trains, the live panel reruns several times a second, and Streamlit
may drop the media files of earlier runs: a picture drawn by the last full run
then becomes a broken link (HTTP 404). A picture carried in the page cannot."""

from __future__ import annotations

import base64
import io

import numpy as np
import streamlit as st
from PIL import Image


def png_data_url(image: np.ndarray) -> str:
    """An RGB uint8 picture as a data: URL (lossless PNG, pixels kept sharp)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def img_tag(image: np.ndarray, width: int) -> str:
    return (
        f'<img src="{png_data_url(image)}" width="{width}" alt="" '
        'style="max-width:100%;height:auto;image-rendering:pixelated;display:block;margin:0 auto">'
    )


def picture(image: np.ndarray, width: int, caption: str | None = None) -> None:
    """A picture inlined in the page, not an st.image media file: the live panel's reruns
    (several a second while a run trains) can drop earlier media files, so a picture
    from the last full run would be a broken link (HTTP 404)."""
    below = "" if caption is None else f'<figcaption style="font-size:0.875rem;opacity:0.6;text-align:center">{caption}</figcaption>'
    st.markdown(f'<figure style="margin:0;width:{width}px;max-width:100%">{img_tag(image, width)}{below}</figure>', unsafe_allow_html=True)
