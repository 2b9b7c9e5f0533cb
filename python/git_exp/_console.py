"""Console capture for runs tracked outside `git exp run`: sys.stdout and
sys.stderr are wrapped so everything written to them also goes to the run's
console.log, which the binary keeps as the run's output.

Output written below Python (child processes, C libraries writing to fd 1)
is not seen; under `git exp run` the binary captures the file descriptors
itself and no wrapper is installed.
"""

import sys

from ._events import Appender


class Tee:
    """Writes through to a stream and appends a copy to a console log; other
    attributes (fileno, isatty, encoding, buffer, ...) are the stream's."""

    def __init__(self, stream, log):
        self._stream = stream
        self._log = log

    def write(self, text):
        written = self._stream.write(text)
        log = self._log
        if log is not None and isinstance(text, str):
            log.buf.append(text)
        return written

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class Console:
    """Installs the wrappers around sys.stdout/sys.stderr and removes them."""

    def __init__(self, path):
        self.log = Appender(path)
        self._saved = {}

    def install(self):
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is None:
                continue
            tee = Tee(stream, self.log)
            self._saved[name] = (stream, tee)
            setattr(sys, name, tee)

    def uninstall(self):
        """Puts the original streams back (unless something else replaced ours since) and
        closes the log."""
        for name, (stream, tee) in self._saved.items():
            try:
                stream.flush()
            except Exception:
                pass
            if getattr(sys, name) is tee:
                setattr(sys, name, stream)
            # Objects that kept a reference (a logging handler made after init) still
            # write through, without copying into the closed log.
            tee._log = None
        self._saved = {}
        self.log.close()
