"""#12 collapsed forwarding from a file still being written, with the real ferry binary.

A response larger than the memory tier takes is streamed to disk while it arrives. Clients
asking for it meanwhile are not sent to the origin: they stream the file as it grows.
  1. A leader and 4 followers, the origin sending 24 MiB over ~2 s: one origin request, every
     body byte-exact, each follower's first bytes before the origin had sent the last ones,
     TCP_HIT in the access log; after a restart with the origin gone, a disk hit.
  2. A leader that stops reading (a small receive buffer, then 3 s asleep) while a follower
     reads fast: the follower gets the whole body while the leader sleeps, then the leader
     gets its whole body too — the fill never waits for, nor is dropped because of, one
     slow client.
  3. An origin that cuts the body in half, under a leader that has fallen behind (so reads
     from the file) and two followers: each sees the cut (the connection closes before
     Content-Length, never carrying on with another response), nobody is given a wrong
     byte, and nothing is stored (the next request goes to the origin again).
  4. A chunked response (no Content-Length) that grows past the memory tier's limit moves to
     disk: followers arriving after that stream it from the file, one origin request, every
     body byte-exact, and it is a disk hit after a restart.
  5. A disk that stalls (another process holds the index's write lock for 5 s, as a commit
     on a slow disk would) under a 160 MiB response sent at full speed: the write queue
     fills, ferry stops reading from the origin instead of dropping the response, and the
     leader and its followers all get it whole once the disk moves again.

  collapse_test.py FERRY_BINARY INDEX_LOCK_BINARY
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from disk_lib import Client, Cut, Ferry, Origin, config, fail, note  # noqa: E402

MiB = 1024 * 1024


def main():
    workdir = tempfile.mkdtemp(prefix="ferry-disk-collapse.")
    try:
        run(sys.argv[1], sys.argv[2], workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def path_of(url):
    return url[url.index("/obj/"):]


class Fetch(threading.Thread):
    """One GET through ferry on a connection of its own, with a Content-Length or chunked
    body. `rcvbuf`: a small receive buffer; `pause_after`: stop reading for `pause` s after
    that many body bytes. `received`: body bytes so far."""

    def __init__(self, ferry, url, rcvbuf=None, pause_after=None, pause=0.0):
        super().__init__(daemon=True)
        self.port, self.url = ferry.port, url
        self.rcvbuf, self.pause_after, self.pause = rcvbuf, pause_after, pause
        self.body, self.head, self.error = b"", b"", None
        self.received = 0
        self.first_byte_at = self.done_at = None

    def run(self):
        try:
            self.fetch()
        except Exception as e:  # reported by the test
            self.error = e
        self.done_at = time.monotonic()

    def fetch(self):
        self.sock = socket.socket()
        if self.rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        self.sock.settimeout(30)
        self.sock.connect(("127.0.0.1", self.port))
        self.sock.sendall(f"GET {self.url} HTTP/1.1\r\nHost: origin\r\n\r\n".encode())
        self.buffer = b""
        self.chunks = []
        while b"\r\n\r\n" not in self.buffer:
            self.fill()
        self.head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        fields = {}
        for line in self.head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if fields.get(b"transfer-encoding") == b"chunked":
            while True:
                while b"\r\n" not in self.buffer:
                    self.fill()
                size_line, _, self.buffer = self.buffer.partition(b"\r\n")
                size = int(size_line, 16)
                if size == 0:
                    break
                self.take(size)
                self.take_bytes(2)  # CRLF after the chunk
        elif b"content-length" in fields:
            self.take(int(fields[b"content-length"]))
        else:
            raise AssertionError(f"no Content-Length, not chunked: {self.head!r}")
        self.body = b"".join(self.chunks)
        self.sock.close()

    def fill(self):
        more = self.sock.recv(65536)
        if not more:
            self.body = b"".join(self.chunks)
            raise Cut(self.body)
        self.buffer += more

    def take_bytes(self, size):
        while len(self.buffer) < size:
            self.fill()
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out

    def take(self, size):
        """size body bytes, read as they come, pausing once if asked."""
        while size > 0:
            if not self.buffer:
                if self.pause_after is not None and self.received >= self.pause_after:
                    self.pause_after = None
                    time.sleep(self.pause)
                self.fill()
            piece = self.take_bytes(min(size, len(self.buffer)))
            if self.first_byte_at is None:
                self.first_byte_at = time.monotonic()
            self.chunks.append(piece)
            self.received += len(piece)
            size -= len(piece)


def check_whole(name, fetch, expected):
    if fetch.error is not None:
        fail(f"{name}: {fetch.error!r} after {len(fetch.body)} bytes")
    if fetch.body != expected:
        fail(f"{name}: {len(fetch.body)} bytes that are not the object's")


def start_all(fetches, gap):
    for fetch in fetches:
        fetch.start()
        time.sleep(gap)


def join_all(fetches):
    for fetch in fetches:
        fetch.join(60)
        if fetch.is_alive():
            fail("a client got no end of its response within 60 s")


def run(binary, index_lock, workdir):
    origin = Origin()
    # Responses over 1 MiB are streamed to disk; a 2 GiB disk takes objects up to 256 MiB.
    ferry = Ferry(binary, workdir, config(workdir, "16MiB", "1MiB", "2GiB"))
    ferry.start()

    # 1. A leader and four followers on a response the origin takes ~2 s to send.
    url = origin.url("iso", 24 * MiB, "&ms=2000")
    expected = origin.body(path_of(url), 24 * MiB)
    leader = Fetch(ferry, url)
    followers = [Fetch(ferry, url) for _ in range(4)]
    start_all([leader], 0.3)
    start_all(followers, 0.1)
    join_all([leader] + followers)
    check_whole("leader", leader, expected)
    for i, follower in enumerate(followers):
        check_whole(f"follower {i}", follower, expected)
        if follower.first_byte_at >= leader.done_at:
            fail(f"follower {i} got its first byte only once the response was whole")
    if origin.requests_for(url) != 1:
        fail(f"the origin was asked {origin.requests_for(url)} times, not once")
    note(f"1 origin request, 5 clients byte-exact; followers' first bytes "
         f"{min(f.first_byte_at for f in followers) - leader.first_byte_at:.2f} s after the "
         f"leader's, {leader.done_at - max(f.first_byte_at for f in followers):.2f} s before "
         f"it ended")

    # 2. A leader that stops reading, a follower that does not wait for it.
    url = origin.url("slow-leader", 32 * MiB, "&ms=1000")
    expected = origin.body(path_of(url), 32 * MiB)
    leader = Fetch(ferry, url, rcvbuf=16384, pause_after=100000, pause=3.0)
    follower = Fetch(ferry, url)
    start_all([leader], 0.3)
    start_all([follower], 0)
    join_all([follower])
    check_whole("follower of a sleeping leader", follower, expected)
    if leader.done_at is not None:
        fail("the leader ended before the follower: it did not fall behind")
    join_all([leader])
    check_whole("sleeping leader", leader, expected)
    if origin.requests_for(url) != 1:
        fail(f"the origin was asked {origin.requests_for(url)} times, not once")
    note(f"follower whole {leader.done_at - follower.done_at:.2f} s before the sleeping "
         f"leader; both byte-exact")

    # 3. An origin that cuts the body: everyone sees the cut, nothing wrong, nothing stored.
    url = origin.url("cut", 32 * MiB, "&ms=1000&cut=1")
    expected = origin.body(path_of(url), 32 * MiB)
    fetches = [Fetch(ferry, url, rcvbuf=16384, pause_after=100000, pause=3.0)]
    fetches += [Fetch(ferry, url) for _ in range(2)]
    start_all(fetches, 0.2)
    join_all(fetches)
    for i, fetch in enumerate(fetches):
        if not isinstance(fetch.error, Cut):
            fail(f"client {i} of a cut response: {fetch.error!r}, {len(fetch.body)} bytes")
        if fetch.body != expected[:len(fetch.body)]:
            fail(f"client {i} of a cut response got bytes that are not the object's")
    again = Fetch(ferry, url)
    again.start()
    join_all([again])
    if origin.requests_for(url) < 2:
        fail("a cut response was served from the cache")
    note(f"cut response: {origin.requests_for(url)} origin requests, "
         f"{[len(f.body) for f in fetches]} bytes each, all the object's")

    # 4. Chunked, growing past memory's 1 MiB: followers come once it has moved to disk.
    chunked_url = origin.url("chunked", 16 * MiB, "&ms=2000&chunked=1")
    chunked_body = origin.body(path_of(chunked_url), 16 * MiB)
    leader = Fetch(ferry, chunked_url)
    leader.start()
    deadline = time.monotonic() + 30
    while leader.received < 2 * MiB and leader.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    followers = [Fetch(ferry, chunked_url) for _ in range(3)]
    start_all(followers, 0.05)
    join_all([leader] + followers)
    check_whole("leader of a chunked response", leader, chunked_body)
    for i, follower in enumerate(followers):
        check_whole(f"follower {i} of a chunked response", follower, chunked_body)
    if origin.requests_for(chunked_url) != 1:
        fail(f"the origin was asked {origin.requests_for(chunked_url)} times for the chunked "
             f"response, not once")
    note("chunked response moved to disk: 1 origin request, 4 clients byte-exact")

    # 5. The disk stalls while a large response arrives at full speed.
    url = origin.url("stalled", 160 * MiB, "&ms=1500")
    expected = origin.body(path_of(url), 160 * MiB)
    lock = subprocess.Popen([index_lock, os.path.join(workdir, "cache", "index"), "5"],
                            stdout=subprocess.PIPE)
    if lock.stdout.readline().strip() != b"locked":
        fail("index_lock did not take the index's write lock")
    leader = Fetch(ferry, url)
    followers = [Fetch(ferry, url) for _ in range(2)]
    start_all([leader], 0.3)
    start_all(followers, 0.05)
    lock.wait(30)
    released = time.monotonic()
    join_all([leader] + followers)
    check_whole("leader on a stalled disk", leader, expected)
    for i, follower in enumerate(followers):
        check_whole(f"follower {i} on a stalled disk", follower, expected)
        if follower.done_at < released:
            fail(f"follower {i} ended before the disk moved again: it did not stream the file")
    if origin.requests_for(url) != 1:
        fail(f"the origin was asked {origin.requests_for(url)} times, not once")
    note(f"disk stalled 5 s under 160 MiB: 3 clients byte-exact, ended "
         f"{max(f.done_at for f in [leader] + followers) - released:.2f} s after it moved")

    ferry.stop()
    with open(os.path.join(workdir, "access.log")) as f:
        log = f.read()
    hits = log.count("TCP_HIT/200")
    if hits < 10:  # the followers of 1, 2, 4 and 5
        fail(f"{hits} TCP_HIT/200 in the access log, not at least 5:\n{log}")

    # After a restart, with the origin gone, the first and the chunked object are disk hits.
    origin.stop()
    ferry.start()
    url = origin.url("iso", 24 * MiB, "&ms=2000")
    client = Client(ferry)
    for url, expected in ((url, origin.body(path_of(url), 24 * MiB)),
                          (chunked_url, chunked_body)):
        status, _, body = client.request("GET", url, {"Cache-Control": "only-if-cached"})
        if status != 200 or body != expected:
            fail(f"after a restart: {status}, {len(body)} bytes for {url}")
    ferry.stop()
    note("after a restart, with the origin gone: disk hits, byte-exact")


if __name__ == "__main__":
    main()
