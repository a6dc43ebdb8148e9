"""Progress messages: every stage logs one line per step under the "attention_xai" logger
("explain: 8 digits x 8 methods in 14 s -> reports/quick/attributions"). The command line
shows them; in a notebook, `show_progress()` does the same.

    from attention_xai.logs import show_progress
    show_progress()          # INFO lines on stderr, prefixed [attention_xai]
"""

from __future__ import annotations

import logging
import sys

LOGGER = "attention_xai"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of each message (a test's captured
    stream, a notebook's cell output)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def show_progress(level: int = logging.INFO) -> logging.Logger:
    """Our messages at `level` and above go to stderr with a prefix (once, however often
    this is called); TensorFlow's own chatter (retracing notes) is muted. Returns the logger."""
    log = logging.getLogger(LOGGER)
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("[attention_xai] %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return log
