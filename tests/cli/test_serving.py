"""Where a running server listens, as `briefqa ask` reads it from beside the index."""

import os
import subprocess
import sys
from pathlib import Path

from briefqa.cli.serving import SERVING_FILE, base_url, serving_address
from briefqa.settings import Settings


def test_a_serving_record_left_by_a_killed_server_is_ignored(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that ran and is gone
    (tmp_path / SERVING_FILE).write_text(f'{{"url": "http://127.0.0.1:9", "pid": {gone.pid}}}')
    assert serving_address(tmp_path) is None
    (tmp_path / SERVING_FILE).write_text(f'{{"url": "http://127.0.0.1:9", "pid": {os.getpid()}}}')
    assert serving_address(tmp_path) == "http://127.0.0.1:9"
    (tmp_path / SERVING_FILE).write_text("not json")
    assert serving_address(tmp_path) is None


def test_a_server_listening_everywhere_is_reached_on_loopback() -> None:
    assert base_url(Settings(host="0.0.0.0", port=8123)) == "http://127.0.0.1:8123"
    assert base_url(Settings(host="::1", port=8123), port=9000) == "http://[::1]:9000"
