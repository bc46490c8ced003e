# Two commands do everything on a fresh machine: `make app` and `make test`.
# Both create .venv and install what is missing first (see scripts/setup.sh).
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# The app has no login: by default it answers on this machine only. `make app HOST=0.0.0.0` serves it on
# the network (README, "Serving on the network": put it behind a proxy with authentication).
HOST ?= 127.0.0.1

.PHONY: setup app test lint format demo bench clean

setup: $(VENV)/.setup-done

$(VENV)/.setup-done: requirements.txt pyproject.toml scripts/setup.sh
	bash scripts/setup.sh $(VENV)
	touch $@

app: setup
	@case "$(HOST)" in 127.*|localhost|::1|"[::1]") ;; *) \
	  echo "warning: serving on $(HOST):$(PORT): anyone who can reach this address can use the app, with no login:" >&2; \
	  echo "  load any dataset under the allowed roots, start training jobs and load model folders." >&2; \
	  echo "  Put it behind a reverse proxy with authentication, or use Streamlit's authentication" >&2; \
	  echo "  (st.login with an OIDC provider: https://docs.streamlit.io/develop/concepts/connections/authentication)." >&2;; \
	esac
	$(VENV)/bin/streamlit run app.py --server.headless true --server.address $(HOST) --server.port $(PORT)

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
