"""DigitNet: draw a digit, watch a neural network read it, train your own live.

    streamlit run app.py

The table of contents: each page is a function in ui/.
"""

import streamlit as st

from ui import board, student

st.set_page_config(page_title="DigitNet", page_icon="✍️", layout="wide")
st.navigation(
    [
        st.Page(student.page, title="Draw and train", icon=":material/draw:", default=True),
        # the teacher's board, for the projector
        st.Page(board.page, title="Class", icon=":material/groups:", url_path="class"),
    ],
    position="top",
).run()
