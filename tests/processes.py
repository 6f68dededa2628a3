"""Reading a child process's output in tests: line by line, with deadlines."""

from __future__ import annotations

import queue
import threading
import time

__all__ = ["LineReader"]


class LineReader:
    """Reads a subprocess stream line by line in a thread, so tests can wait with deadlines."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, *needles: str, timeout: float = 30.0) -> str | None:
        """The first new line containing every needle, or None at EOF / after ``timeout``."""
        deadline = time.monotonic() + timeout
        for line in self.lines:
            if all(n in line for n in needles):
                return line
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            self.lines.append(line)
            if all(n in line for n in needles):
                return line
        return None

    def drain(self, timeout: float = 2.0) -> str:
        """Everything read so far plus what arrives within ``timeout`` (until EOF)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return "".join(self.lines)
