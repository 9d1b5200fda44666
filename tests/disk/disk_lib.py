"""Shared parts of the disk cache tests: an origin on loopback whose bodies are a checksum
of their URL (so any torn or mixed-up body shows), the real ferry binary started with a disk
tier and stopped with a signal, and a client that tells a whole response from a cut one.
Everything listens on 127.0.0.1 only; every wait has a deadline. Python standard library
only."""

import atexit
import hashlib
import http.client
import http.server
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def note(message):
    print("# " + message, flush=True)


def body_for(path, size):
    """The body the origin sends for path: SHA-256 blocks of the path and a counter."""
    blocks = []
    for i in range((size + 31) // 32):
        blocks.append(hashlib.sha256(f"{path}:{i}".encode()).digest())
    return b"".join(blocks)[:size]


class Origin:
    """Serves /obj/<name>?size=<bytes> with Content-Length and a day of freshness. With
    &ms=<n> the body is sent in 64 KiB pieces spread over n ms; with &cut=1 only its first
    half is sent, then the connection closes; with &chunked=1 it is sent chunked, each piece
    a chunk, without Content-Length. Counts the requests for each path."""

    def __init__(self):
        self.bodies = {}
        self.requests = {}
        self.lock = threading.Lock()
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                match = re.fullmatch(
                    r"/obj/([\w-]+)\?size=(\d+)(?:&ms=(\d+))?(&cut=1)?(&chunked=1)?", self.path)
                if not match:
                    self.send_error(404)
                    return
                with origin.lock:
                    origin.requests[self.path] = origin.requests.get(self.path, 0) + 1
                body = origin.body(self.path, int(match.group(2)))
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                chunked = bool(match.group(5))
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=86400")
                self.end_headers()
                sent = body[:len(body) // 2] if match.group(4) else body
                pieces = range(0, len(sent), 65536)
                pause = int(match.group(3) or 0) / 1000 / max(1, len(pieces))
                try:
                    for at in pieces:
                        piece = sent[at:at + 65536]
                        if chunked:
                            piece = b"%x\r\n%s\r\n" % (len(piece), piece)
                        self.wfile.write(piece)
                        if pause:
                            time.sleep(pause)
                    if chunked and not match.group(4):
                        self.wfile.write(b"0\r\n\r\n")
                    if match.group(4):
                        self.wfile.flush()
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a kill of ferry resets its origin connections: no news here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def body(self, path, size):
        with self.lock:
            if path not in self.bodies:
                self.bodies[path] = body_for(path, size)
            return self.bodies[path]

    def url(self, name, size, query=""):
        return f"http://127.0.0.1:{self.port}/obj/{name}?size={size}{query}"

    def requests_for(self, url):
        path = url[url.index("/obj/"):]
        with self.lock:
            return self.requests.get(path, 0)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Ferry:
    """The real binary with `yaml` as its config, in `workdir`."""

    def __init__(self, binary, workdir, yaml):
        self.binary = binary
        self.workdir = workdir
        self.config = os.path.join(workdir, "ferry.yaml")
        with open(self.config, "w") as f:
            f.write(yaml)
        self.proc = None
        self.port = None
        self.admin_port = None
        self.runs = 0
        atexit.register(self.abort)  # a failed test must not leave ferry running

    def abort(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def start(self):
        self.runs += 1
        self.log_path = os.path.join(self.workdir, f"ferry-{self.runs}.err")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([self.binary, "--config", self.config],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = open(self.log_path).read()
            listen = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
            admin = re.search(r"admin interface on 127\.0\.0\.1:(\d+)", text)
            if listen and admin:
                self.port = int(listen.group(1))
                self.admin_port = int(admin.group(1))
                return
            if self.proc.poll() is not None:
                fail(f"ferry exited with {self.proc.returncode}:\n{text}")
            time.sleep(0.02)
        fail("ferry did not start listening within 20 s:\n" + open(self.log_path).read())

    def kill(self, sig):
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail(f"ferry did not exit within 30 s of signal {sig}")
        self.log.close()
        return code

    def stop(self):
        """SIGTERM: a graceful stop, which finishes the queued disk writes."""
        code = self.kill(signal.SIGTERM)
        if code != 0:
            fail(f"ferry exited with {code} on SIGTERM:\n" + open(self.log_path).read())

    def metric(self, name):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics",
                                    timeout=10) as r:
            text = r.read().decode()
        match = re.search(rf"^ferry_{name} (\d+)", text, re.M)
        if not match:
            fail(f"no ferry_{name} in /metrics")
        return int(match.group(1))


def config(workdir, memory, max_object_size, disk_size):
    """ferry's config for the disk tests: 2 workers, an access log, loopback origins, an
    admin listener, and a disk cache under workdir behind `memory`; responses larger than
    `max_object_size` are streamed to disk alone."""
    return f"""
listen: [127.0.0.1:0]
workers: 2
log: {{access_log: {workdir}/access.log}}
access: {{allow_destinations: [127.0.0.0/8]}}
admin: {{listen: 127.0.0.1:0}}
cache:
  memory: {memory}
  max_object_size: {max_object_size}
  disk: {{path: {workdir}/cache, size: {disk_size}}}
"""


class Cut(Exception):
    """The response ended before its Content-Length: `partial` bytes of body came."""

    def __init__(self, partial):
        super().__init__(f"cut after {len(partial)} bytes")
        self.partial = partial


class Client:
    """One persistent client connection to ferry, reopened after a failure."""

    def __init__(self, ferry):
        self.ferry = ferry
        self.conn = None

    def request(self, method, url, headers=None):
        """(status, headers, body); Cut when the body was cut short; OSError when the
        connection failed before a response head."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.ferry.port, timeout=30)
        try:
            self.conn.request(method, url, headers=headers or {})
            response = self.conn.getresponse()
            try:
                body = response.read()
            except http.client.IncompleteRead as e:
                raise Cut(e.partial)
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, response, body
        except (Cut, OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
