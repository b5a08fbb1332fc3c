"""Import TensorFlow without the INFO lines its C++ core prints on start-up.

TensorFlow writes absl log lines straight to file descriptor 2 while its shared
libraries load, before it reads ``TF_CPP_MIN_LOG_LEVEL``. In a notebook those lines
become stderr output, which a warning-free book build rejects. This module loads
TensorFlow with descriptor 2 captured, drops the INFO-level lines (``I0000 ...``) and
the absl banner that announces them, and writes everything else (warnings, errors)
back to stderr, so real problems still show.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

# absl's INFO lines, e.g. "I0000 00:00:1795321672.437268    3108 port.cc:153] oneDNN ..."
_INFO_LINE = re.compile(r"^I\d{4} \d\d:\d\d:\d\d")
_ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# What TensorFlow's GPU-enabled build reports on a machine without a GPU (a Colab CPU runtime):
# errors and warnings by level, harmless there.
_NO_GPU = re.compile(
    r"failed call to cuInit|Could not find TensorRT|Unable to register cu\w+ factory"
    r"|computation placer already registered"
)


def is_noise(line: str) -> bool:
    """True for an INFO-level TensorFlow log line, the absl banner, or the GPU build's report
    that there is no GPU; everything else is kept."""
    return bool(_INFO_LINE.match(line)) or line.strip() == _ABSL_BANNER or bool(_NO_GPU.search(line))


@contextlib.contextmanager
def _filter_fd2():
    """Capture descriptor 2 for the duration, then re-emit all but the noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [
                line
                for line in capture.read().decode(errors="replace").splitlines(keepends=True)
                if not is_noise(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def import_tensorflow():
    """Import and return ``tensorflow``, with its INFO start-up lines removed."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    # Later (post-start-up) C++ INFO lines honour this; warnings and errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    with _filter_fd2():
        try:
            import tensorflow
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(
                "digitlib needs TensorFlow 2.16 or newer: `pip install tensorflow` "
                "(or `tensorflow-cpu` on a machine without a GPU)."
            ) from error

        tensorflow.config.list_physical_devices()  # device discovery logs happen here too
    return tensorflow
