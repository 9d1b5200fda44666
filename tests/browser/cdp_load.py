#!/usr/bin/env python3
"""Loads one page in Chromium driven over the DevTools protocol and screenshots it.

    cdp_load.py [--auth USER:PASS] [--until JS] URL PNG -- CHROMIUM ARGS...

Starts CHROMIUM ARGS with --remote-debugging-pipe: Chromium reads commands on its fd 3 and
writes answers and events on its fd 4, each one JSON object ended by a NUL byte. Opens a
1000x900 page, navigates to URL, waits for its load event (and then, with --until, for the
JavaScript expression to be true), writes the screenshot to PNG and closes the browser.

Every request of the page is paused and continued through the Fetch domain, so that
authentication challenges reach this script (Fetch.authRequired): with --auth they are
answered with the credentials, without it cancelled. Each challenge is printed on stdout
as "challenge <source> <scheme> <realm> <origin>". Standard library only. Exits 1 with
the reason on stderr when the page fails to load or 45 s pass.
"""
import argparse
import base64
import json
import os
import select
import signal
import sys
import time


class Browser:
    """Chromium over its DevTools pipe. Events are handed to on_event as they are read,
    also while a command waits for its answer."""

    def __init__(self, argv, deadline, on_event):
        self.deadline = deadline
        self.on_event = on_event
        to_child, self.out = os.pipe()
        self.inp, from_child = os.pipe()
        self.pid = os.posix_spawnp(
            argv[0], argv + ["--remote-debugging-pipe"], os.environ,
            file_actions=[(os.POSIX_SPAWN_DUP2, to_child, 3),
                          (os.POSIX_SPAWN_DUP2, from_child, 4)],
            setsid=True)
        os.close(to_child)
        os.close(from_child)
        self.buffer = b""
        self.next_id = 0

    def close(self):
        """Asks Chromium to close (its connections end cleanly), gives it 5 s, then kills
        what is left of its process group."""
        try:
            self.send("Browser.close")
        except OSError:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            time.sleep(0.05)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass

    def read(self):
        """Reads one message; an event goes to on_event, an answer is returned."""
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("deadline passed")
            ready, _, _ = select.select([self.inp], [], [], left)
            if ready:
                chunk = os.read(self.inp, 65536)
                if not chunk:
                    raise EOFError("Chromium closed its DevTools pipe")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        message = json.loads(message)
        if "method" in message:
            self.on_event(message["method"], message.get("params", {}))
            return None
        return message

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        return self.next_id

    def call(self, method, params=None, session=None):
        """Sends a command and returns its result."""
        wanted = self.send(method, params, session)
        while True:
            message = self.read()
            if message and message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--auth", help="USER:PASS answering authentication challenges")
    parser.add_argument("--until", help="JavaScript expression to wait for after the load")
    parser.add_argument("url")
    parser.add_argument("png")
    parser.add_argument("chromium", nargs="+")
    args = parser.parse_args()
    # Chromium runs in a session of its own: a signal ends this script through the
    # finally below, which takes Chromium's whole process group with it.
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, lambda *_: sys.exit("cdp_load: terminated"))
    page = Page(args)
    browser = Browser(args.chromium, time.monotonic() + 45, page.on_event)
    page.browser = browser
    try:
        page.load()
    except (TimeoutError, EOFError, RuntimeError) as error:
        sys.exit(f"cdp_load: {args.url}: {error}")
    finally:
        browser.close()


class Page:
    """One page target: continues its paused requests, answers its challenges."""

    def __init__(self, args):
        self.args = args
        self.browser = None
        self.session = None
        self.loaded = set()  # loaders whose load event came

    def on_event(self, method, params):
        if method == "Fetch.requestPaused":
            self.browser.send("Fetch.continueRequest", {"requestId": params["requestId"]},
                              self.session)
        elif method == "Fetch.authRequired":
            challenge = params["authChallenge"]
            print("challenge", challenge.get("source", "-"), challenge.get("scheme", "-"),
                  challenge.get("realm") or "-", challenge.get("origin", "-"), flush=True)
            if self.args.auth:
                user, password = self.args.auth.split(":", 1)
                answer = {"response": "ProvideCredentials", "username": user,
                          "password": password}
            else:
                answer = {"response": "CancelAuth"}
            self.browser.send("Fetch.continueWithAuth",
                              {"requestId": params["requestId"],
                               "authChallengeResponse": answer}, self.session)
        elif method == "Page.lifecycleEvent" and params.get("name") == "load":
            self.loaded.add(params.get("loaderId"))

    def load(self):
        browser, args = self.browser, self.args
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.call("Target.attachToTarget",
                                    {"targetId": target, "flatten": True})["sessionId"]
        browser.call("Emulation.setDeviceMetricsOverride",
                     {"width": 1000, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                     self.session)
        browser.call("Fetch.enable", {"handleAuthRequests": True}, self.session)
        browser.call("Page.enable", {}, self.session)
        browser.call("Page.setLifecycleEventsEnabled", {"enabled": True}, self.session)
        navigation = browser.call("Page.navigate", {"url": args.url}, self.session)
        if navigation.get("errorText"):
            raise RuntimeError(f"navigation failed: {navigation['errorText']}")
        while navigation.get("loaderId") not in self.loaded:
            browser.read()
        while args.until and not browser.call(
                "Runtime.evaluate", {"expression": args.until, "returnByValue": True},
                self.session).get("result", {}).get("value"):
            time.sleep(0.05)
        shot = browser.call("Page.captureScreenshot", {"format": "png"}, self.session)
        with open(args.png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))


if __name__ == "__main__":
    main()
