"""The runner's kernel client retries a refused connection within milliseconds: a warm
kernel binds its ports only after the runner's channels have connected."""

from __future__ import annotations

from pathlib import Path

import zmq
from jupyter_client.connect import write_connection_file

from autograder.runner.kernel_client import RECONNECT_MS, PromptKernelClient


def test_every_channel_retries_a_refused_connection_within_milliseconds(
        tmp_path: Path) -> None:
    connection = tmp_path / "kernel.json"
    write_connection_file(str(connection), ip="127.0.0.1", transport="tcp")
    client = PromptKernelClient()
    client.load_connection_file(str(connection))
    client.start_channels()  # nothing listens on these ports: ZMQ keeps retrying
    try:
        channels = (client.shell_channel, client.iopub_channel, client.stdin_channel,
                    client.control_channel)
        intervals = {channel.socket.getsockopt(zmq.RECONNECT_IVL) for channel in channels}
        assert intervals == {RECONNECT_MS}
        assert RECONNECT_MS < 100  # ZMQ's default, which cost every warm grade 0.1 s
    finally:
        client.stop_channels()
