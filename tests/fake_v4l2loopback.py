"""A userspace stand-in for a v4l2loopback device, for tests on machines without the module.

Usage: python fake_v4l2loopback.py MOUNTPOINT RECORD_FILE

Mounts a FUSE filesystem holding one file, ``video0``, that answers the two ioctls
pyvirtualcam's native v4l2loopback backend issues (VIDIOC_QUERYCAP, VIDIOC_S_FMT) like the
kernel module would, and appends every byte written to it to RECORD_FILE. The negotiated
format is written to RECORD_FILE + ".fmt" as "width height fourcc". Runs until unmounted.
Needs root, /dev/fuse, libfuse2 and mfusepy.
"""

from __future__ import annotations

import ctypes
import errno
import stat
import struct
import sys
import time

import mfusepy as fuse

VIDIOC_QUERYCAP = 0x80685600  # _IOR('V', 0, struct v4l2_capability), 104 bytes
VIDIOC_S_FMT = 0xC0D05605  # _IOWR('V', 5, struct v4l2_format), 208 bytes
V4L2_CAP_VIDEO_OUTPUT = 0x00000002
V4L2_CAP_STREAMING = 0x04000000
V4L2_CAP_DEVICE_CAPS = 0x80000000


def querycap_bytes() -> bytes:
    caps = V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_STREAMING
    return struct.pack(
        "16s32s32sIII12x",
        b"v4l2 loopback",
        b"Eye Contact",
        b"platform:v4l2loopback-000",
        0x00060000,
        caps | V4L2_CAP_DEVICE_CAPS,
        caps,
    )


class LoopbackFS(fuse.Operations):
    use_ns = True  # nanosecond timestamps (mfusepy warns otherwise)

    def __init__(self, record_path: str) -> None:
        self.record = open(record_path, "ab", buffering=0)  # noqa: SIM115 (lives as long as us)
        self.fmt_path = record_path + ".fmt"
        self.now = time.time_ns()

    def getattr(self, path, fh=None):
        base = {"st_uid": 0, "st_gid": 0, "st_atime": self.now, "st_mtime": self.now,
                "st_ctime": self.now}
        if path == "/":
            return {**base, "st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if path == "/video0":
            return {**base, "st_mode": stat.S_IFREG | 0o666, "st_nlink": 1, "st_size": 0}
        raise fuse.FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", "video0"]

    def open(self, path, flags):
        return 0

    def truncate(self, path, length, fh=None):
        return 0

    def write(self, path, data, offset, fh):
        self.record.write(data)
        return len(data)

    def ioctl(self, path, cmd, arg, fh, flags, data):
        cmd &= 0xFFFFFFFF
        if cmd == VIDIOC_QUERYCAP:
            payload = querycap_bytes()
            ctypes.memmove(data, payload, len(payload))
            return 0
        if cmd == VIDIOC_S_FMT:
            raw = ctypes.string_at(data, 208)
            width, height, fourcc = struct.unpack_from("III", raw, 8)
            with open(self.fmt_path, "w") as fh_fmt:
                fh_fmt.write(f"{width} {height} {fourcc}\n")
            return 0
        raise fuse.FuseOSError(errno.ENOTTY)


def main() -> None:
    mountpoint, record_path = sys.argv[1], sys.argv[2]
    fuse.FUSE(LoopbackFS(record_path), mountpoint, foreground=True, nothreads=True,
              big_writes=True)


if __name__ == "__main__":
    main()
