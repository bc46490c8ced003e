# Two commands do everything on a fresh machine: `make app` and `make test`.
# Both create .venv and install what is missing first (see scripts/setup.sh).
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: setup app test lint format demo bench clean

setup: $(VENV)/.setup-done

$(VENV)/.setup-done: requirements.txt pyproject.toml scripts/setup.sh
	bash scripts/setup.sh $(VENV)
	touch $@

app: setup
	$(VENV)/bin/streamlit run app.py --server.headless true --server.port $(PORT)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup  # ruff (lint + format check) and the import-layer contracts of pyproject.toml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

demo: setup
	$(PY) demo.py

bench: setup
	for f in bench/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .rsic .pytest_cache
