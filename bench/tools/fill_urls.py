#!/usr/bin/env python3
"""Sends one GET through a proxy for each of COUNT URLs, to fill its cache (bench/disk_start).

  fill_urls.py --proxy 127.0.0.1:PORT --prefix http://127.0.0.1:ORIGIN/obj/ --count N

URL n is PREFIX + str(n), n = 0 .. N-1. Connection i of --connections C sends n = i, i+C,
... one request at a time on a keep-alive connection; a connection the proxy closes is
opened again and its unanswered URL sent again. Responses must carry Content-Length (every
proxy here sends it for the bench's 1 KiB bodies). Prints one RESULT line; exits 1 unless
every URL was answered 200. It does not time anything: the caller does.
"""
import argparse
import collections
import socket
import sys
import threading

RETRIES = 3  # sends of one URL before giving up on it


def read_response(f):
    """Reads one response from the buffered socket file f: (status, keep-alive), or None
    if the connection closed first."""
    status_line = f.readline()
    if not status_line:
        return None
    status = int(status_line.split()[1])
    length, close = None, status_line.startswith(b"HTTP/1.0")
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value == "close"
    if length is None:
        raise RuntimeError(f"a {status} response without Content-Length")
    if len(f.read(length)) != length:
        return None
    return status, not close


def walk(proxy, prefix, ns, statuses, lock):
    """Sends GET PREFIX+n for each n in ns, counting each final status in statuses."""
    host = prefix.split("/")[2]
    sock = f = None
    for n in ns:
        request = (f"GET {prefix}{n} HTTP/1.1\r\nHost: {host}\r\n"
                   "User-Agent: bench-fill\r\n\r\n").encode()
        result = None
        for _ in range(RETRIES):
            try:
                if sock is None:
                    sock = socket.create_connection(proxy, timeout=30)
                    f = sock.makefile("rb")
                sock.sendall(request)
                result = read_response(f)
            except OSError:
                result = None
            if sock is not None and (result is None or not result[1]):
                f.close()  # closed: the next send opens another connection
                sock.close()
                sock = f = None
            if result is not None:
                break
        with lock:
            statuses[result[0] if result else "closed"] += 1
    if sock is not None:
        f.close()
        sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True, help="host:port")
    ap.add_argument("--prefix", required=True, help="absolute URL that n is appended to")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--connections", type=int, default=8)
    a = ap.parse_args()

    host, port = a.proxy.rsplit(":", 1)
    statuses, lock = collections.Counter(), threading.Lock()
    c = max(1, min(a.connections, a.count))
    threads = [threading.Thread(target=walk, args=((host, int(port)), a.prefix,
                                                   range(i, a.count, c), statuses, lock))
               for i in range(c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = statuses.get(200, 0)
    others = " ".join(f"{k}:{v}" for k, v in sorted(statuses.items(), key=str) if k != 200)
    print(f"RESULT urls={a.count} ok={ok} other={others or 'none'}")
    return 0 if ok == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
