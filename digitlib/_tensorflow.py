"""Import TensorFlow without the INFO lines its C++ core prints on start-up.

TensorFlow writes absl log lines straight to file descriptor 2 while its shared
libraries load, before it reads ``TF_CPP_MIN_LOG_LEVEL``. In a notebook those lines
become stderr output, which a warning-free book build rejects. :func:`import_tensorflow`
loads TensorFlow with descriptor 2 sent through a small filter process, which drops the
INFO-level lines (``I0000 ...``), the absl banner that announces them and the GPU build's
report that there is no GPU, and passes everything else (warnings, errors) on as it comes,
so real problems still show, even a fatal message just before TensorFlow aborts. It is the
book's choice for its own kernels: the chapters' set-up cell calls it; ``import digitlib``
does not.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys

# absl's INFO lines ("I0000 00:00:1795321672.437268    3108 port.cc:153] oneDNN ..."), the
# banner that announces them, and what TensorFlow's GPU-enabled build reports on a machine
# without a GPU (a Colab CPU runtime): errors and warnings by level, harmless there.
NOISE = re.compile(
    r"^(?:I\d{4} \d\d:\d\d:\d\d"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR\s*$)"
    r"|failed call to cuInit|Could not find TensorRT|Unable to register cu\w+ factory"
    r"|computation placer already registered"
)
# The filter process: lines in on stdin, all but the noise out on stderr, as they come.
_FILTER = f"""import re, sys
noise = re.compile({NOISE.pattern!r})
for line in sys.stdin.buffer:
    if not noise.search(line.decode(errors="replace")):
        sys.stderr.buffer.write(line)
        sys.stderr.buffer.flush()
"""


def is_noise(line: str) -> bool:
    """True for an INFO-level TensorFlow log line, the absl banner, or the GPU build's report
    that there is no GPU; everything else is kept."""
    return bool(NOISE.search(line))


@contextlib.contextmanager
def _filter_fd2():
    """Send descriptor 2 through the filter process for the duration. Without a descriptor
    2 (a process started with ``2>&-``) there is nothing to filter."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    if sys.stderr is not None:
        sys.stderr.flush()
    reader, writer = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", _FILTER], stdin=reader, stdout=subprocess.DEVNULL, stderr=saved
        )
    except OSError:  # no interpreter to start: show everything rather than nothing
        os.close(reader), os.close(writer), os.close(saved)
        yield
        return
    os.close(reader)
    os.dup2(writer, 2)
    os.close(writer)
    try:
        yield
    finally:
        os.dup2(saved, 2)  # closes the pipe's last write end: the filter reads to the end and stops
        os.close(saved)
        process.wait(timeout=60)


def import_tensorflow() -> None:
    """Import ``tensorflow`` with its INFO start-up lines removed. It returns nothing, so the
    set-up cell that calls it shows nothing; ``import tensorflow as tf`` afterwards is free."""
    if "tensorflow" in sys.modules:
        return
    # TensorFlow's C++ reads its log level once, as it loads: INFO lines printed later are
    # dropped too. The variable is set for the import only, so child processes do not inherit it.
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    try:
        with _filter_fd2():
            try:
                import tensorflow
            except ModuleNotFoundError as error:
                raise ModuleNotFoundError(
                    "digitlib needs TensorFlow 2.16 or newer: `pip install tensorflow` "
                    "(or `tensorflow-cpu` on a machine without a GPU)."
                ) from error

            tensorflow.config.list_physical_devices()  # device discovery logs happen here too
    finally:
        if level is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
