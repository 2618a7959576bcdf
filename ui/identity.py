"""Who this browser is: a random token kept in a cookie, so that a reload finds its runs again.

The token is made on the server (`secrets.token_urlsafe`) the first time a browser
opens the app and written into a cookie by a one-line script (st.html with
JavaScript allowed); a later page load sends the cookie with its WebSocket request,
where `st.context.cookies` reads it. It is never the display name, never in the
page's address (the settings are: a shared link must not carry who shared it), and
the store keeps only its hash.
"""

from __future__ import annotations

import re
import secrets

import streamlit as st

COOKIE = "digitnet_token"
KEY = "digitnet_token"  # in st.session_state: the token of this session (a test may set it)
VALID = re.compile(r"[A-Za-z0-9_-]{32,64}")  # what token_urlsafe(32) makes; anything else is ignored
YEAR = 365 * 24 * 3600
CSS = ".st-key-identity {display: none}"  # the cookie's script takes no room on the page


def token() -> str:
    """This browser's token: the session's, else the cookie's, else a new one."""
    ss = st.session_state
    if KEY not in ss:
        cookie = st.context.cookies.get(COOKIE)
        valid = isinstance(cookie, str) and VALID.fullmatch(cookie)  # (AppTest's cookies are not strings)
        ss[KEY] = cookie if valid else secrets.token_urlsafe(32)
    return ss[KEY]


def remember() -> None:
    """Keep the token in the browser (a cookie for the whole site, a year), unless it
    came from there. SameSite=Strict: no other site's link or form sends it."""
    value = token()
    if st.context.cookies.get(COOKIE) == value:
        return
    with st.container(key="identity"):
        st.html(
            f"<script>document.cookie = '{COOKIE}={value}; path=/; max-age={YEAR}; SameSite=Strict'</script>",
            unsafe_allow_javascript=True,  # our own script; `value` is from the regular expression above
        )
