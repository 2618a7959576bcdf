"""Turn a canvas drawing or an uploaded picture into the 784-vector the network reads.

A network trained on MNIST has only ever seen digits made one way, so a
drawing has to be made the same way before it is shown to the network:

    canvas.py   canvas RGBA -> ink map (ink = 1 on background = 0)
    upload.py   a file -> a decoded picture (safely) -> ink map, via paper.py for a photo
    paper.py    a photo's uneven lighting fitted and taken away, and which side is ink
    mnist.py    ink map -> MNIST's recipe -> the 28x28 image and x (784 x 1)

Pillow decodes, rotates and shrinks uploads. Our own code stands where it pays,
measured on a 280-px drawing against Pillow: the LANCZOS resize as two matrix
products (2.5x faster than Image.resize), grey dilation and erosion by window
doubling (hundreds of times faster than ImageFilter.MaxFilter), and connected
components (which Pillow has not; SciPy is not a dependency).

No Streamlit here: the app, `python -m digitnet predict` and the tests share it.
"""

from .canvas import from_canvas
from .mnist import REASONS, Preprocessed, PreprocessError, to_mnist
from .upload import from_bytes, from_image

__all__ = [
    "REASONS",
    "Preprocessed",
    "PreprocessError",
    "from_bytes",
    "from_canvas",
    "from_image",
    "to_mnist",
]
