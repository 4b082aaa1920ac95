# Single entry point. `make demo` renders a real video; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROTOS := $(wildcard protos/lumiere/v1/*.proto)

.PHONY: demo test unit integration proto lint stack bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

gen/.stamp: $(PROTOS) $(STAMP)
	rm -rf gen/lumiere && mkdir -p gen
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=gen --grpc_python_out=gen --pyi_out=gen $(PROTOS)
	# Put the repo (services, gateway) and gen/ (`from lumiere.v1 import ...`) on the venv's path.
	$(PY) -c "import os, site; open(os.path.join(site.getsitepackages()[0], 'lumiere-gen.pth'), 'w').write(os.path.abspath('.') + chr(10) + os.path.abspath('gen') + chr(10))"
	touch gen/.stamp

proto: gen/.stamp

demo: proto
	$(PY) -m services.devstack.demo

stack: proto
	$(PY) -m services.devstack

# The web page is tested in a real headless Chromium (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not installed: the browser test will be skipped"; fi; }

test: proto browser
	$(PY) -m pytest -q

unit: proto
	$(PY) -m pytest -q -m "not integration"

integration: proto
	$(PY) -m pytest -q -m integration

lint: proto
	$(PY) -m ruff check services gateway tests bench
	$(PY) -m ruff format --check services gateway tests bench
	$(PY) -m mypy services gateway

clean:
	rm -rf gen $(VENV) .lumiere
