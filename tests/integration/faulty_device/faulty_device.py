#!/usr/bin/python3
"""A FUSE file system holding one file, disk.img, that reads and writes a real disk image
but fails with EIO on chosen byte ranges (bad sectors) and never answers on others (a
stalled device). Put behind a loop device (losetup), it is a camera with worn-out flash.

usage: faulty_device.py IMAGE MOUNTPOINT [--bad START:LEN]... [--stall START:LEN]... [--cached]

--cached lets the kernel cache what was read (no direct_io): a read waiting on a stalled
range then waits killably, as on a real block device, so that its process can exit.
"""

import errno
import os
import stat
import sys
import threading

try:
    import fuse  # fusepy from PyPI
except ImportError:
    import fusepy as fuse  # Debian's python3-fusepy


def ranges(args, flag):
    out = []
    for i, a in enumerate(args):
        if a == flag:
            start, length = args[i + 1].split(":")
            out.append((int(start), int(start) + int(length)))
    return out


class FaultyDevice(fuse.Operations):
    def __init__(self, image, bad, stall):
        self.fd = os.open(image, os.O_RDWR)
        self.size = os.fstat(self.fd).st_size
        self.bad = bad
        self.stall = stall
        self.never = threading.Event()

    def getattr(self, path, fh=None):
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if path == "/disk.img":
            return {"st_mode": stat.S_IFREG | 0o644, "st_nlink": 1, "st_size": self.size}
        raise fuse.FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", "disk.img"]

    def open(self, path, flags):
        return 0

    def hits(self, table, offset, size):
        return any(offset < end and start < offset + size for start, end in table)

    def read(self, path, size, offset, fh):
        if self.hits(self.stall, offset, size):
            self.never.wait()  # a device that never answers
        if self.hits(self.bad, offset, size):
            raise fuse.FuseOSError(errno.EIO)
        return os.pread(self.fd, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(self.fd, data, offset)

    def truncate(self, path, length, fh=None):
        raise fuse.FuseOSError(errno.EPERM)

    def fsync(self, path, datasync, fh):
        os.fsync(self.fd)
        return 0

    def flush(self, path, fh):
        return 0


def main():
    image, mountpoint = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    device = FaultyDevice(image, ranges(rest, "--bad"), ranges(rest, "--stall"))
    # direct_io: every read reaches this process, none is answered from the page cache.
    fuse.FUSE(device, mountpoint, foreground=True, nothreads=False,
              direct_io="--cached" not in rest, allow_other=True)


if __name__ == "__main__":
    main()
