"""Buffered appending to the run's files (events.jsonl, console.log) and the
background thread that flushes them every second.

Writers append text to `Appender.buf` (a list: appends are atomic under the
GIL, so writers need no lock); `flush` takes what is there, joins it and
writes it with one `write` to a file opened with O_APPEND, so lines from
several processes never interleave. What a failed write leaves (a full disk) is
retried at the next flush. After a fork the child drops what the
parent had buffered, so nothing is written twice.
"""

import os
import sys
import threading
import time
import weakref

FLUSH_INTERVAL = 1.0
MAX_PENDING = 64 << 20  # bytes kept for a retry after a failed write

_appenders = weakref.WeakSet()


class Appender:
    """A file opened for appending whose writes are gathered in memory."""

    def __init__(self, path):
        self.path = path
        self.buf = []
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                           0o644)
        # Reentrant: a signal handler in the main thread may flush while the
        # main thread is inside flush.
        self._lock = threading.RLock()
        self._failed = False
        self._pending = b""  # bytes a failed write left, written before the next ones
        self._error = None
        _appenders.add(self)

    def flush(self):
        """Writes everything buffered so far with one write."""
        buf = self.buf
        if not buf and not self._pending:
            return
        with self._lock:
            count = len(buf)
            if self._fd is None or not (count or self._pending):
                return
            data = "".join(buf[:count]).encode("utf-8", "replace")
            del buf[:count]
            if self._pending:
                data, self._pending = self._pending + data, b""
            self._write(data)

    def _write(self, data):
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as e:
            # Kept for the next flush, from the byte where writing stopped, so a line
            # already partly written is completed rather than torn (a full disk, say).
            rest = bytes(view)
            if len(rest) <= MAX_PENDING:
                self._pending = rest
                if not self._failed:
                    self._report("cannot write %s: %s; retrying" % (self.path, e))
            else:
                torn = len(rest) < len(data) and data[len(data) - len(rest) - 1] != 10
                self._pending = b"\n" if torn else b""  # ends a partly written line
                self._report("cannot write %s: %s; %d bytes of logged data are lost"
                             % (self.path, e, len(rest)))
            self._failed = True
            self._error = e
        else:
            self._failed = False

    def _report(self, message):
        try:
            sys.__stderr__.write("git-exp: %s\n" % message)
        except Exception:  # no stderr (pythonw), or closed
            pass

    def close(self):
        """Flushes and closes the file; later appends are dropped."""
        with self._lock:
            self.flush()
            if self._pending:
                self._report("cannot write %s: %s; %d bytes of logged data are lost"
                             % (self.path, self._error, len(self._pending)))
                self._pending = b""
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            del self.buf[:]

    def _forget_after_fork(self):
        self._lock = threading.RLock()
        self._pending = b""
        del self.buf[:]


class NullAppender:
    """An appender that drops everything (runs in disabled mode)."""

    path = None

    def __init__(self):
        self.buf = []

    def flush(self):
        del self.buf[:]

    def close(self):
        del self.buf[:]


class Flusher:
    """A daemon thread calling each registered callable every FLUSH_INTERVAL seconds."""

    def __init__(self):
        self._tasks = []
        self._thread = None
        self._lock = threading.Lock()

    def add(self, task):
        """Registers task and starts the thread if needed."""
        with self._lock:
            self._tasks.append(task)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="git-exp-flush", daemon=True)
                self._thread.start()

    def remove(self, task):
        """Unregisters task (no error if it was not registered)."""
        with self._lock:
            if task in self._tasks:
                self._tasks.remove(task)

    def _loop(self):
        while True:
            time.sleep(FLUSH_INTERVAL)
            with self._lock:
                tasks = list(self._tasks)
            for task in tasks:
                try:
                    task()
                except Exception as e:  # keep flushing the others
                    sys.__stderr__.write("git-exp: background flush failed: %r\n" % (e,))

    def _forget_after_fork(self):
        # Threads do not survive fork: the child starts its own on the next add.
        self._lock = threading.Lock()
        self._thread = None
        self._tasks = []


flusher = Flusher()


def forget_after_fork():
    """Called in a forked child: drops the parent's buffers and flush thread."""
    for appender in list(_appenders):
        appender._forget_after_fork()
    flusher._forget_after_fork()
