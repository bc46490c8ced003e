"""Helpers of the tests that serve the app or the Gradio demo: a free port, waiting for the server, Chromium's flags,
what overflows its box on a page."""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"  # Debian's, which the set-up installs
CHROMIUM_FLAGS = [  # headless on a machine without network: no background connections to be refused
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Whatever overflows at 1440 px: a chip or label cut short, pills past their column, heatmap labels out of the figure.
OVERFLOW_JS = """() => {
  const out = [], cut = e => e.scrollWidth > e.clientWidth + 1;
  document.querySelectorAll('[data-tag] span[title]').forEach(t => cut(t) && out.push('chip ' + t.title));
  document.querySelectorAll('[data-testid=stMultiSelectTagsContainer]').forEach(c => cut(c) && out.push('chip row'));
  document.querySelectorAll('[data-testid=stWidgetLabel] :is(div, p), label :is(div, p)')
    .forEach(e => e.textContent.trim() && cut(e) && out.push('label ' + e.textContent));
  document.querySelectorAll('[data-testid=stButtonGroup]').forEach(g => {
    const right = (g.closest('[data-testid=stColumn]') || g.parentElement).getBoundingClientRect().right;
    g.querySelectorAll('button').forEach(b => b.getBoundingClientRect().right > right + 1 && out.push('pill ' + b.textContent));
  });
  document.querySelectorAll('.js-plotly-plot').forEach(p => {
    const r = p.getBoundingClientRect();
    p.querySelectorAll('.xtick text, .ytick text').forEach(t => { const q = t.getBoundingClientRect();
      (q.left < r.left - 1 || q.right > r.right + 1 || q.top < r.top - 1 || q.bottom > r.bottom + 1)
        && out.push('tick ' + t.textContent); });
  });
  return out;
}"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_streamlit(url: str, log: Path, what: str = "streamlit", seconds: float = 90) -> None:
    """Return once the Streamlit server at ``url`` says it is healthy; fail the test with its log otherwise."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{what} did not answer on {url}: {log.read_text()[-2000:]}")
