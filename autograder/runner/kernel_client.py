"""The runner's kernel client: jupyter_client's, without a fixed wait at start-up.

``wait_for_ready`` in jupyter_client ends by reading IOPub until it has been quiet for
0.2 s, to drop what the handshake left there. nbclient reads only the messages whose parent
is the cell it runs, so those leftovers are ignored anyway, and the wait is a fixed 0.2 s
on every grade (a fifth of a warm NumPy grade). This client keeps the handshake — a
``kernel_info`` reply on the shell channel, then a message on IOPub, which shows the
subscription is live, asking again until both come — and drains only what is already
there.

It also retries a refused connection after 5 ms instead of ZMQ's 100 ms. A warm kernel is
forked next to the runner, whose channels connect before the kernel has bound its ports;
with ZMQ's default interval every grade lost a tenth of a second there (0.19 s from asking
to ready, against 0.055 s with this interval).
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

import zmq
from jupyter_client.asynchronous.client import AsyncKernelClient

HANDSHAKE_REPLY_S = 1.0  # as jupyter_client: ask again when no reply came in this time
IOPUB_CONFIRM_S = 0.2
RECONNECT_MS = 5  # ZMQ_RECONNECT_IVL for the channels this client opens


class PromptKernelClient(AsyncKernelClient):
    def start_channels(self, *args: Any, **kwargs: Any) -> None:
        # A context's socket options are the defaults of the sockets made from it next.
        self.context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        super().start_channels(*args, **kwargs)

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=HANDSHAKE_REPLY_S)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=IOPUB_CONFIRM_S)
                except Empty:
                    pass  # IOPub not subscribed yet: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} s")
        while True:  # what is already queued, without waiting for more
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                return
