# Single entry point. `make demo` renders a real video; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROTOS := $(wildcard protos/lumiere/v1/*.proto)

.PHONY: demo test unit integration proto lint stack bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

gen/.stamp: $(PROTOS) $(STAMP)
	rm -rf gen/lumiere && mkdir -p gen
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=gen --grpc_python_out=gen --pyi_out=gen $(PROTOS)
	# Generated code imports as `from lumiere.v1 import ...`: put gen/ on the venv's path.
	$(PY) -c "import os, site; open(os.path.join(site.getsitepackages()[0], 'lumiere-gen.pth'), 'w').write(os.path.abspath('gen') + chr(10))"
	touch gen/.stamp

proto: gen/.stamp

demo: proto
	$(PY) -m services.devstack.demo

stack: proto
	$(PY) -m services.devstack

test: proto
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
