"""The app as app.py serves it, with the server's sending held back while a flag file exists:
what a busy server does under load (tests/test_browser_burst.py).

The server sends each session's messages when its event loop gets round to it; with a class
on one server, several of a page's runs can start and end before it does. Each run's start
drops what the runs before it drew and has not been sent yet, for the parts it redraws
(Streamlit's ForwardMsgQueue.clear); what is left then leaves in one batch. Holding the
sending back makes that happen on purpose. While held, every run's start is written to the
log (DIGITNET_RUN_LOG): "whole" or its fragments' ids, and how many unsent elements it dropped.
"""

import os
import sys
from pathlib import Path

from streamlit.runtime.app_session import AppSession
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue

ROOT = Path(__file__).resolve().parent.parent
HOLD, LOG = Path(os.environ["DIGITNET_HOLD"]), Path(os.environ["DIGITNET_RUN_LOG"])

if not getattr(AppSession, "digitnet_held", False):  # once per server: the script runs again at every run
    send, clear = AppSession.flush_browser_queue, ForwardMsgQueue.clear

    def held_send(self):
        return [] if HOLD.exists() else send(self)

    def logged_clear(self, retain_lifecycle_msgs=False, fragment_ids_this_run=None):
        before = len(self._queue)
        clear(self, retain_lifecycle_msgs, fragment_ids_this_run)
        if retain_lifecycle_msgs and HOLD.exists():  # a run starts
            with LOG.open("a") as f:
                f.write(f"{fragment_ids_this_run or 'whole'} dropped {before - len(self._queue)}\n")

    AppSession.flush_browser_queue, ForwardMsgQueue.clear = held_send, logged_clear
    AppSession.digitnet_held = True

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
exec(compile((ROOT / "app.py").read_text(), str(ROOT / "app.py"), "exec"))
