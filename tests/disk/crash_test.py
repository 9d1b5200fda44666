"""#12 kill -9 torture for the disk cache, then restart, hits and PURGE across restarts.

Rounds (20 by default): start ferry on a disk cache directory that survives every round,
drive concurrent misses and hits of objects from 1 KiB to 8 MiB whose bodies are a checksum
of their URL, kill -9 at a random moment, restart, and fetch every object once more. Any
response that arrives whole must be byte-exact, in every phase; while clients run, a
response may be cut (by the kill, or when memory pressure evicts the fill it streams from),
the connection closing and what came being the start of the right body; after a restart,
each object fetched once, nothing is cut. Then: a graceful stop, a restart with the origin gone, every object answered
from disk (only-if-cached, TCP_HIT); a PURGE that a further restart does not undo; and the
bodies left by the crashes swept, so that the files on disk are the entries indexed.

  crash_test.py FERRY_BINARY [--rounds N] [--seed S]
"""

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from disk_lib import Client, Cut, Ferry, Origin, config, fail, note  # noqa: E402

OBJECTS = 40
CLIENTS = 6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ferry")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    note(f"seed {args.seed}")

    workdir = tempfile.mkdtemp(prefix="ferry-disk-crash.")
    ok = False
    try:
        run(args, rng, workdir)
        ok = True
    finally:
        if ok or os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"# kept {workdir}", file=sys.stderr)


def run(args, rng, workdir):
    origin = Origin()
    # Sizes spread evenly on a log scale from 1 KiB to 8 MiB; the memory tier is smaller
    # than all of them together, so hits come from disk within a run too, and the three
    # largest are larger than it stores.
    objects = []
    for i in range(OBJECTS):
        size = int(1024 * (8192 ** (i / (OBJECTS - 1))))
        objects.append((origin.url(f"o{i}", size), origin.body(f"/obj/o{i}?size={size}", size)))
    expected = dict(objects)
    urls = [url for url, _ in objects]

    # Objects over 4 MiB go to disk alone, and their hits come from the file.
    ferry = Ferry(args.ferry, workdir, config(workdir, "24MiB", "4MiB", "512MiB"))

    failures = []
    counts = {"whole": 0, "cut by kill": 0, "cut, fill evicted": 0, "hits": 0}
    lock = threading.Lock()

    def check(url, status, response, body, phase):
        """A failure's description, or None; counts the hits."""
        if status != 200:
            return f"{phase}: {url}: status {status}"
        if body != expected[url]:
            return f"{phase}: {url}: {len(body)} bytes that are not the object's"
        cache_status = response.getheader("Cache-Status") or ""
        if "hit" in [p.strip() for p in cache_status.split(";")[1:]]:
            counts["hits"] += 1
        return None

    def drive(stop, killed, seed):
        local = random.Random(seed)
        client = Client(ferry)
        while not stop.is_set():
            url = local.choice(urls)
            try:
                status, response, body = client.request("GET", url)
                with lock:
                    counts["whole"] += 1
                    failure = check(url, status, response, body, "while running")
                    if failure:
                        failures.append(failure)
            except Cut as e:
                # Cut by the kill, or, with ferry up, a response streamed from a fill that
                # memory pressure evicted (README: other clients see it cut short). Either
                # way the connection closed, and what came must be the object's start.
                with lock:
                    if not expected[url].startswith(e.partial):
                        failures.append(f"cut: {url}: the {len(e.partial)} bytes that came "
                                        "are not the object's")
                    else:
                        counts["cut by kill" if killed.is_set() else "cut, fill evicted"] += 1
            except OSError as e:
                if not killed.is_set():
                    with lock:
                        failures.append(f"while running: {url}: {e!r} with ferry still up")
                else:
                    time.sleep(0.01)  # ferry is gone: wait for the round to end

    for round_no in range(1, args.rounds + 1):
        ferry.start()
        verify_all(ferry, urls, check, f"round {round_no}, after restart")
        stop, killed = threading.Event(), threading.Event()
        threads = [threading.Thread(target=drive, args=(stop, killed, rng.random()))
                   for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.2, 2.0))
        killed.set()
        ferry.kill(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(timeout=60)
            if t.is_alive():
                fail("a client thread hung after the kill")
        if failures:
            fail("\n".join(failures[:20]))
    note(f"{args.rounds} rounds: {counts['whole']} whole responses, {counts['cut by kill']} "
         f"cut by the kill, {counts['cut, fill evicted']} cut with their fill evicted, "
         f"{counts['hits']} hits")

    # Every object once more, then a graceful stop: all of them are on disk now.
    ferry.start()
    verify_all(ferry, urls, check, "before the last restart")
    ferry.stop()
    origin.stop()
    ferry.start()
    client = Client(ferry)
    for url in urls:
        status, response, body = client.request("GET", url,
                                                {"Cache-Control": "only-if-cached"})
        if status != 200 or body != expected[url]:
            fail(f"origin gone: {url}: status {status}, {len(body)} bytes")
    disk_hits = ferry.metric("cache_disk_hits")
    if disk_hits < len(urls):
        fail(f"origin gone: {disk_hits} disk hits for {len(urls)} objects")
    log = open(os.path.join(workdir, "access.log")).read()
    if log.count("TCP_HIT/200") < len(urls):
        fail("origin gone: the access log does not show a TCP_HIT for every object")

    status, _, _ = client.request("PURGE", urls[0])
    if status != 200:
        fail(f"PURGE of a stored object answered {status}")
    ferry.stop()
    ferry.start()
    client = Client(ferry)
    status, _, _ = client.request("GET", urls[0], {"Cache-Control": "only-if-cached"})
    if status != 504:
        fail(f"a purged object came back after a restart (status {status})")
    status, _, body = client.request("GET", urls[1], {"Cache-Control": "only-if-cached"})
    if status != 200 or body != expected[urls[1]]:
        fail("an object not purged was lost with the purged one")

    # The sweep at start removes what the kills left; then files and index agree.
    deadline = time.monotonic() + 30
    while True:
        files = sum(len(names) for _, _, names in os.walk(os.path.join(workdir, "cache",
                                                                         "bodies")))
        entries = ferry.metric("cache_disk_entries")
        if files == entries:
            break
        if time.monotonic() > deadline:
            fail(f"{files} body files on disk for {entries} indexed entries")
        time.sleep(0.1)
    note(f"after the last restart: {entries} entries, {files} body files, {disk_hits} disk "
         "hits with the origin gone")
    ferry.stop()
    print("PASS")


def verify_all(ferry, urls, check, phase):
    """Every object, by 4 clients at once: each whole and exact, none cut."""
    failures = []
    lock = threading.Lock()
    queue = list(urls)

    def worker():
        client = Client(ferry)
        while True:
            with lock:
                if not queue:
                    return
                url = queue.pop()
            try:
                status, response, body = client.request("GET", url)
                with lock:
                    failure = check(url, status, response, body, phase)
                    if failure:
                        failures.append(failure)
            except (Cut, OSError) as e:
                with lock:
                    failures.append(f"{phase}: {url}: {e!r}")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if failures:
        fail("\n".join(failures[:20]))


if __name__ == "__main__":
    main()
