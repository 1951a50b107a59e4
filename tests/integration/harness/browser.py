"""A headless Chromium (Debian's `chromium` package) driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: the browser reads commands on fd 3 and answers on fd 4, one JSON
message each, NUL-terminated), so no websocket, port or Python package is needed.

    from harness.browser import chromium_binary, Browser
    with Browser(chromium_binary(), profile_dir) as browser:
        page = browser.load("/path/page.html", width=1280, height=900)
        page.evaluate("document.title"), page.screenshot(), page.console_errors, page.requests

Flags keep it off the network (no background networking, component updates, sync, QUIC or first
run); every network request the page makes is recorded (Network.requestWillBeSent), and so is every
console message, log entry of level error and uncaught exception.
"""

import base64
import json
import os
import select
import shutil
import subprocess
import time

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars")


class BrowserError(AssertionError):
    pass


def chromium_binary():
    """The path of a Chromium on the PATH ($CHROMIUM first), or None."""
    for name in ((os.environ.get("CHROMIUM"),) if os.environ.get("CHROMIUM") else ()) + CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One tab: what it logged and requested, and commands on it."""

    def __init__(self, browser, session):
        self.browser = browser
        self.session = session
        self.console = []        # (level, text) of every console message and log entry
        self.exceptions = []     # uncaught exceptions (text)
        self.requests = []       # URLs of every request the page made

    @property
    def console_errors(self):
        return [text for level, text in self.console if level in ("error", "assert")] + self.exceptions

    def send(self, method, **params):
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (by value)."""
        found = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in found:
            raise BrowserError("%s raised %s" % (expression, found["exceptionDetails"]))
        return found["result"].get("value")

    def screenshot(self):
        """The viewport as PNG bytes."""
        return base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])

    def event(self, message):
        method, params = message.get("method"), message.get("params") or {}
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args") or [])
            self.console.append((params.get("type"), text))
        elif method == "Log.entryAdded":
            entry = params.get("entry") or {}
            self.console.append((entry.get("level"), "%s (%s)" % (entry.get("text"), entry.get("url"))))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails") or {}
            self.exceptions.append(str((details.get("exception") or {}).get("description") or details.get("text")))
        elif method == "Network.requestWillBeSent":
            self.requests.append((params.get("request") or {}).get("url"))


class Browser:
    """A Chromium process with its own throw-away profile; `timeout` bounds every answer."""

    def __init__(self, binary, profile_dir, timeout=60.0):
        self.binary = binary
        self.profile_dir = profile_dir
        self.timeout = timeout
        self.process = None
        self.pages = {}
        self._next = 0
        self._buffer = b""
        self._events = []

    def __enter__(self):
        to_browser, self._writer = os.pipe()
        self._reader, from_browser = os.pipe()
        os.set_inheritable(to_browser, True)
        os.set_inheritable(from_browser, True)

        def fds():  # in the child: the protocol's fds 3 and 4
            os.dup2(to_browser, 100)
            os.dup2(from_browser, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)

        self._stderr = open(os.path.join(self.profile_dir, "chromium.log"), "wb")
        self.process = subprocess.Popen(
            [self.binary] + list(FLAGS) + ["--user-data-dir=" + os.path.join(self.profile_dir, "profile"),
                                           "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr, close_fds=False, preexec_fn=fds)
        os.close(to_browser)
        os.close(from_browser)
        return self

    def __exit__(self, *exc):
        try:
            if self.process.poll() is None:
                try:
                    self.send("Browser.close", {})
                except (BrowserError, OSError):
                    pass
                try:
                    self.process.wait(timeout=self.timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            for fd in (self._writer, self._reader):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._stderr.close()

    def log(self):
        with open(os.path.join(self.profile_dir, "chromium.log"), "rb") as handle:
            return handle.read().decode("utf-8", "replace")

    # ---- the protocol ------------------------------------------------------------------------------
    def _read(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise BrowserError("Chromium did not answer within %.0f s; its log:\n%s" % (self.timeout, self.log()))
            if select.select([self._reader], [], [], 0.5)[0]:
                chunk = os.read(self._reader, 1 << 16)
                if not chunk:
                    raise BrowserError("Chromium closed the protocol pipe (exit %s); its log:\n%s"
                                       % (self.process.poll(), self.log()))
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _dispatch(self, message):
        page = self.pages.get(message.get("sessionId"))
        if page is not None:
            page.event(message)
        self._events.append(message)

    def send(self, method, params, session=None):
        """Send a command and return its result; events that arrive meanwhile are dispatched."""
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise BrowserError("%s: %s" % (method, answer["error"]))
                return answer.get("result") or {}
            self._dispatch(answer)

    def wait_event(self, session, method):
        deadline = time.monotonic() + self.timeout
        while True:
            for index, message in enumerate(self._events):
                if message.get("sessionId") == session and message.get("method") == method:
                    del self._events[:index + 1]
                    return message
            self._dispatch(self._read(deadline))

    def load(self, path, width=1280, height=900):
        """Open `path` (a local file) in a new tab of that viewport size; returns the Page once its
        load event fired (console, exceptions and requests recorded from the start)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = self.pages[session] = Page(self, session)
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(domain + ".enable")
        page.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self._events = []
        page.send("Page.navigate", url="file://" + os.path.abspath(path))
        self.wait_event(session, "Page.loadEventFired")
        return page
