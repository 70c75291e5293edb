"""The per-client moving window (on the `limits` library), with real time and a short window."""

from __future__ import annotations

import time

from qa.ratelimit import MovingWindow, Rate


def test_moving_window_counts_clients_apart_and_frees_slots_as_they_age() -> None:
    window = MovingWindow(Rate(2, 1.0))
    started = time.time()
    assert window.hit("a") == 0.0 and window.hit("a") == 0.0
    wait = window.hit("a")
    assert 0.0 < wait <= 1.0 - (time.time() - started) + 0.05  # when the first hit ages out
    assert window.hit("b") == 0.0  # another client has its own window
    time.sleep(wait + 0.05)
    assert window.hit("a") == 0.0 and window.hit("a") == 0.0  # both aged out together
    assert window.hit("a") > 0.0


def test_a_refused_hit_does_not_count() -> None:
    window = MovingWindow(Rate(1, 1.0))
    assert window.hit("a") == 0.0
    for _ in range(5):
        assert window.hit("a") > 0.0
    time.sleep(1.05)
    assert window.hit("a") == 0.0  # refused hits did not extend the window
