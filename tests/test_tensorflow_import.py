"""Importing digitlib changes nothing in the process and loads no TensorFlow; its
import_tensorflow drops TensorFlow's INFO start-up lines, but not its warnings and errors."""

from __future__ import annotations

import os
import subprocess
import sys

from digitlib._tensorflow import is_noise

INFO = "I0000 00:00:1795321672.437268    3108 port.cc:153] oneDNN custom operations are on."
WARNING = "W0000 00:00:1795321672.437268    3108 thing.cc:1] something real went wrong"
ERROR = "E0000 00:00:1795321691.768908    3136 cuda_platform.cc:52] failed call"
BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def _run(code, **options):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, **options)


NO_GPU = [  # as TensorFlow 2.20's GPU-enabled build prints them on a CPU-only machine (Colab's CPU runtime)
    "2026-12-03 08:40:03.400100: E external/local_xla/xla/stream_executor/cuda/cuda_platform.cc:51] "
    "failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "2026-12-03 08:40:03.400100: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] "
    "TF-TRT Warning: Could not find TensorRT",
]


def test_only_info_lines_the_banner_and_the_no_gpu_report_count_as_noise():
    assert is_noise(INFO + "\n") and is_noise(BANNER + "\n")
    assert all(is_noise(line) for line in NO_GPU)
    assert not is_noise(WARNING) and not is_noise(ERROR)
    assert not is_noise("E0000 00:00:1795321691.768908    3136 cuda_executor.cc:1] CUDA_ERROR_OUT_OF_MEMORY")
    assert not is_noise("Traceback (most recent call last):")


def test_seeding_training_and_predicting_print_nothing_on_stderr():
    # The pause matters: TensorFlow rate-limits some log lines to one per 5 seconds, so a
    # line that recurs (as the op-determinism rewrite's did) shows only after a pause.
    result = _run(
        "import digitlib\n"
        "digitlib.import_tensorflow()\n"
        "import keras, numpy as np, time\n"
        "digitlib.set_seed(0)\n"
        "m = digitlib.simple_convnet()\n"
        "m.compile('adam', 'categorical_crossentropy')\n"
        "x, y = np.zeros((8, 28, 28, 1), 'float32'), np.eye(10)[np.arange(8)]\n"
        "m.fit(x, y, validation_split=0.25, verbose=0)\n"
        "time.sleep(6)\n"
        "m.evaluate(x, y, verbose=0)\n"
        "m.predict(x, verbose=0)\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert result.stderr == ""


def test_the_filter_passes_warnings_and_errors_through():
    lines = "\\n".join([BANNER, INFO, WARNING, ERROR]) + "\\n"
    result = _run(
        f"import os\nfrom digitlib._tensorflow import _filter_fd2\nwith _filter_fd2():\n    os.write(2, b'{lines}')\n"
    )
    assert result.returncode == 0
    assert result.stderr.splitlines() == [WARNING, ERROR]


def test_importing_digitlib_changes_nothing_and_loads_no_tensorflow():
    result = _run(
        "import os, sys\n"
        "environment, stderr = dict(os.environ), os.fstat(2)\n"
        "import digitlib\n"
        "(x, y), _ = digitlib.load_mnist()\n"
        "digitlib.preprocess(x[:10], y[:10])\n"
        "digitlib.operations.conv2d_single(x[0] / 255, [[1.0, -1.0]])\n"
        "digitlib.prepare_digit(x[0])\n"
        "digitlib.plot_image_grid(x[:2] / 255, ['a', 'b'])\n"
        "assert dict(os.environ) == environment, 'os.environ changed'\n"
        "assert (os.fstat(2).st_dev, os.fstat(2).st_ino) == (stderr.st_dev, stderr.st_ino), 'fd 2 changed'\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n",
        env=dict(os.environ, MPLBACKEND="Agg"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_import_tensorflow_sets_no_variable_for_child_processes():
    result = _run(
        "import os, digitlib\ndigitlib.import_tensorflow()\nprint(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))\n",
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
    )
    assert result.returncode == 0 and result.stdout.strip() == "None", result.stderr


def test_digitlib_works_without_stderr():
    code = (
        "import sys\nsys.stderr = None\nimport digitlib\n"
        "digitlib.import_tensorflow()\nprint(digitlib.simple_convnet().name)\n"
    )
    assert _run(code).stdout.strip() == "simple_convnet"
    closed = _run(code.replace("sys.stderr = None\n", ""), preexec_fn=lambda: os.close(2))  # as `2>&-`
    assert closed.returncode == 0 and closed.stdout.strip() == "simple_convnet"


def test_a_fatal_message_before_an_abort_is_shown(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\n"
        f"os.write(2, b'{INFO}\\n')\n"
        "os.write(2, b'F0000 00:00:1795321672.437268    3108 fatal.cc:1] Check failed: the CPU lacks AVX\\n')\n"
        "os.abort()\n"
    )
    result = _run(
        "from digitlib._tensorflow import import_tensorflow\nimport_tensorflow()\n",
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path])),
    )
    assert result.returncode != 0
    assert "Check failed: the CPU lacks AVX" in result.stderr and "oneDNN" not in result.stderr
