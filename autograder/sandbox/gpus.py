"""``--gpus all|N|device=ID[,ID]`` → a Docker device request (what ``docker run --gpus`` sends)."""

from __future__ import annotations

from docker.types import DeviceRequest


class GpuRequestError(ValueError):
    pass


def device_request(gpus: str) -> DeviceRequest:
    text = gpus.strip()
    if text == "all":
        return DeviceRequest(count=-1, capabilities=[["gpu"]])
    if text.isdigit() and int(text) > 0:
        return DeviceRequest(count=int(text), capabilities=[["gpu"]])
    if text.startswith("device="):
        ids = [i.strip() for i in text.removeprefix("device=").split(",") if i.strip()]
        if ids:
            return DeviceRequest(device_ids=ids, capabilities=[["gpu"]])
    raise GpuRequestError(f"--gpus {gpus!r}: expected all, a positive count, or device=ID[,ID]")
