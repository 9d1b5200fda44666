"""#12 the disk cache on a filesystem that fills up, and on a directory that vanishes.

Runs in a mount namespace of its own (re-executed under `unshare -m`; needs root), where a
48 MiB tmpfs holds the disk cache. Phases, each with every response checked byte for byte:
objects stored while there is room; the filesystem filled to the last byte by another file,
then new objects (ferry keeps serving them from the origin, counts cache_disk_errors, stays
up) and the objects stored before (still served); room again: new objects are stored and a
restart serves them from disk; the cache directory removed while ferry runs: still served.

  disk_full_test.py FERRY_BINARY
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from disk_lib import Client, Ferry, Origin, fail, note  # noqa: E402

SKIP = 77


def main():
    if os.environ.get("FERRY_DISK_FULL_NS") != "1":
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            print("SKIP: needs root and unshare(1) for a private tmpfs", file=sys.stderr)
            sys.exit(SKIP)
        env = dict(os.environ, FERRY_DISK_FULL_NS="1")
        sys.exit(subprocess.call(["unshare", "-m", "--propagation", "private", sys.executable,
                                  os.path.abspath(__file__)] + sys.argv[1:], env=env))
    workdir = tempfile.mkdtemp(prefix="ferry-disk-full.")
    fs = os.path.join(workdir, "fs")
    os.mkdir(fs)
    subprocess.check_call(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", fs])
    try:
        run(sys.argv[1], workdir, fs)
    finally:
        subprocess.call(["umount", "-l", fs])
        shutil.rmtree(workdir, ignore_errors=True)


def fill(path):
    """Writes zeros to path until the filesystem refuses; returns the bytes written."""
    written = 0
    block = b"\0" * (256 * 1024)
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(block)
            except OSError:
                break
        small = b"\0" * 512
        while True:
            try:
                written += f.write(small)
            except OSError:
                return written


def run(binary, workdir, fs):
    origin = Origin()
    cache_dir = os.path.join(fs, "cache")
    ferry = Ferry(binary, workdir, f"""
listen: [127.0.0.1:0]
workers: 1
access: {{allow_destinations: [127.0.0.0/8]}}
admin: {{listen: 127.0.0.1:0}}
cache:
  memory: 1MiB
  max_object_size: 1MiB
  disk: {{path: {cache_dir}, size: 40MiB}}
""")

    def objects(prefix, count):
        out = []
        for i in range(count):
            size = 64 * 1024 + i * 4096
            url = origin.url(f"{prefix}{i}", size)
            out.append((url, origin.body(url[url.index("/obj/"):], size)))
        return out

    def get_all(client, items, phase, twice=True):
        for url, body in items:
            for _ in range(2 if twice else 1):
                status, _, got = client.request("GET", url)
                if status != 200 or got != body:
                    fail(f"{phase}: {url}: status {status}, {len(got)} bytes")

    ferry.start()
    client = Client(ferry)
    before = objects("before", 20)
    get_all(client, before, "with room")
    ferry.stop()  # every write finished
    ferry.start()
    client = Client(ferry)
    hits = ferry.metric("cache_disk_hits")
    get_all(client, before, "with room, after a restart", twice=False)
    if ferry.metric("cache_disk_hits") - hits < len(before):
        fail("the objects stored with room were not read back from disk")

    filler = os.path.join(fs, "filler")
    filled = fill(filler)
    st = os.statvfs(fs)
    note(f"filled the filesystem with {filled} bytes; {st.f_bavail * st.f_frsize} bytes free")
    errors = ferry.metric("cache_disk_errors")
    full = objects("full", 20)
    get_all(client, full, "disk full")
    get_all(client, before, "disk full, stored before", twice=False)
    if ferry.metric("cache_disk_errors") <= errors:
        fail("writes to a full disk were not counted in cache_disk_errors")
    if ferry.proc.poll() is not None:
        fail("ferry exited on a full disk")

    os.remove(filler)
    writes = ferry.metric("cache_disk_writes")
    room = objects("room", 5)
    get_all(client, room, "room again")
    ferry.stop()
    ferry.start()
    if ferry.metric("cache_disk_writes") != 0:  # a fresh process: counters start at 0
        fail("counters did not restart")
    client = Client(ferry)
    hits = ferry.metric("cache_disk_hits")
    get_all(client, room, "room again, after a restart", twice=False)
    if ferry.metric("cache_disk_hits") - hits < len(room):
        fail(f"objects stored once there was room again were not on disk (writes before the "
             f"restart: {writes})")

    shutil.rmtree(cache_dir)
    vanished = objects("vanished", 5)
    get_all(client, vanished + room, "cache directory removed")
    if ferry.proc.poll() is not None:
        fail("ferry exited when its cache directory was removed")
    ferry.stop()
    print("PASS")


if __name__ == "__main__":
    main()
