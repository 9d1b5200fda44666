#!/usr/bin/env python3
"""Holds N idle keep-alive client connections on a proxy and reports its memory.

  idle_conns.py --proxy 127.0.0.1:PORT --target URL --host HOST --count N --pgid PGID [--silent]

Opens N connections (a bounded number of connects in flight), sends one GET for TARGET on
each and reads the whole response, so every connection is a real keep-alive client that
has finished a request; with --silent, each only connects and never sends a byte (a flood
of clients that open connections and wait; those still in the proxy's accept queue are not
counted as kept open). Then it holds them idle, samples the proxy's RSS (procstat.py
semantics: VmRSS summed over the process group), counts the connections the proxy kept
open, closes everything and prints one RESULT line. It measures; it does not judge.
"""
import argparse
import errno
import os
import resource
import selectors
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procstat  # noqa: E402

IN_FLIGHT = 500  # connects + first exchanges at once; stays under the listen backlog


class Conn:
    __slots__ = ("sock", "buf", "state", "need")

    def __init__(self, sock):
        self.sock, self.buf, self.state, self.need = sock, b"", "connecting", -1


def response_done(c):
    """True once buf holds one whole response (Content-Length or chunked)."""
    head_end = c.buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    head = c.buf[:head_end].decode("latin-1").lower()
    body = len(c.buf) - head_end - 4
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip() == "content-length":
            return body >= int(value.strip())
    if "transfer-encoding: chunked" in head:
        return c.buf.endswith(b"0\r\n\r\n")
    return False  # close-delimited: never "done" while open


def unaccepted(port):
    """Connections waiting in the accept queues of the sockets listening on `port`."""
    waiting = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.readlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, queues = fields[1], fields[3], fields[4]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # LISTEN
                waiting += int(queues.split(":")[1], 16)  # rx_queue: the accept queue
    return waiting


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--pgid", type=int, required=True)
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--deadline", type=float, default=120.0)
    ap.add_argument("--silent", action="store_true")
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.count + 100
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    host, port = a.proxy.rsplit(":", 1)
    request = (f"GET {a.target} HTTP/1.1\r\nHost: {a.host}\r\nUser-Agent: bench-idle\r\n"
               "Accept: */*\r\n\r\n").encode()

    time.sleep(a.settle)
    rss_idle = procstat.rss(a.pgid)

    sel = selectors.DefaultSelector()
    done, failed, started, active = [], 0, 0, 0
    reasons = {}
    end = time.monotonic() + a.deadline

    def fail(c, why):
        nonlocal failed, active
        sel.unregister(c.sock)
        c.sock.close()
        failed += 1
        active -= 1
        reasons[why] = reasons.get(why, 0) + 1

    while (started < a.count or active) and time.monotonic() < end:
        while started < a.count and active < IN_FLIGHT:
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError as e:
                reasons[f"socket: {e.strerror}"] = reasons.get(f"socket: {e.strerror}", 0) + 1
                failed += 1
                started += 1
                continue
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            err = s.connect_ex((host, int(port)))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                failed += 1
                reasons[os.strerror(err)] = reasons.get(os.strerror(err), 0) + 1
            else:
                sel.register(s, selectors.EVENT_WRITE, Conn(s))
                active += 1
            started += 1
        for key, ev in sel.select(timeout=1.0):
            c = key.data
            if c.state == "connecting":
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(c, os.strerror(err))
                    continue
                if a.silent:
                    sel.unregister(c.sock)
                    done.append(c)
                    active -= 1
                    continue
                try:
                    c.sock.send(request)  # small: fits the empty send buffer
                except OSError as e:
                    fail(c, f"send: {e.strerror}")
                    continue
                c.state = "reading"
                sel.modify(c.sock, selectors.EVENT_READ, c)
            else:
                try:
                    chunk = c.sock.recv(65536)
                except OSError as e:
                    fail(c, f"recv: {e.strerror}")
                    continue
                if not chunk:
                    fail(c, "closed before a whole response")
                    continue
                c.buf += chunk
                if response_done(c):
                    if not c.buf.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
                        fail(c, c.buf.split(b"\r\n", 1)[0].decode("latin-1"))
                        continue
                    sel.unregister(c.sock)
                    c.buf = b""
                    done.append(c)
                    active -= 1
    for key in list(sel.get_map().values()):
        fail(key.data, "deadline")

    time.sleep(a.settle)
    rss_with = max(procstat.rss(a.pgid) for _ in range(3) if time.sleep(0.2) is None)

    # A connection the proxy closed after its response reads as EOF now.
    alive = 0
    for c in done:
        try:
            c.sock.setblocking(False)
            if c.sock.recv(1) == b"":
                continue
        except BlockingIOError:
            alive += 1
            continue
        except OSError:
            continue
    waiting = unaccepted(int(port))
    alive = max(0, alive - waiting)
    for c in done:
        c.sock.close()

    why = ";".join(f"{k}x{v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
    print(f"RESULT answered={len(done)} alive={alive} unaccepted={waiting} failed={failed} "
          f"rss_idle={rss_idle} rss_with={rss_with} reasons={why.replace(' ', '_') or '-'}")


if __name__ == "__main__":
    main()
