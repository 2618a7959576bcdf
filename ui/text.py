"""Text from outside (a file name, a value from a link, a sentence that quotes an upload)
on the page. Streamlit renders the body of st.markdown, st.caption, st.error and the other
messages as Markdown, so such text could show an image fetched from anywhere, a link, a
heading, colours or emoji. Two ways in, nothing else:

- `code(text)`: the text as inline code, shown exactly as it is (even `--`, which Markdown
  would turn into a dash): for names and values, and for commands to copy;
- `plain(sentence)`: a sentence from digitnet that may quote outside text, every Markdown
  character escaped and no address turned into a link; the sentence's own `code` kept."""

from __future__ import annotations

import re

# What may start Markdown inside a line (emphasis, code, links and images, HTML, strikethrough,
# maths, emoji and Streamlit's :colour[...] and :material/...: directives, tables, entities) ...
_INLINE = re.compile(r"([\\`*_\[\]!<>~$:|&])")
# ... and at its start (a heading, a quote, a list item)
_BLOCK = re.compile(r"^([#>+*=-]|\d+(?=[.)]))")
_LINKABLE = re.compile(r"(?i)(?<=www)\.|(?<=:)//|@")  # where GFM would see an address to link
_CODE = re.compile(r"(`+)(.+?)\1")  # an inline code span in a sentence
ZERO_WIDTH = "\u200b"


def code(text: object, limit: int = 60) -> str:
    """Outside text as inline code: one line, at most `limit` characters."""
    text = _short(text, limit) or "(empty)"
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain(sentence: object, limit: int = 500) -> str:
    """A sentence for a Markdown element: literal, apart from its `code` spans."""
    text, out, end = _short(sentence, limit), [], 0
    for span in _CODE.finditer(text):
        out += [_escape(text[end : span.start()]), span.group()]
        end = span.end()
    return "".join([*out, _escape(text[end:])])


def _escape(text: str) -> str:
    text = _LINKABLE.sub(lambda m: m.group()[0] + ZERO_WIDTH + m.group()[1:], text)
    text = _INLINE.sub(r"\\\1", text)
    return _BLOCK.sub(lambda m: m.group() + "\\" if m.group()[0].isdigit() else "\\" + m.group(), text)


def _short(text: object, limit: int) -> str:
    text = " ".join(str(text).split())  # one line: a new line could start a heading or a list
    return text if len(text) <= limit else text[: limit - 1] + "…"
