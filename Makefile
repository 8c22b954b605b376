# S4 Toolkit - the two commands are `make demo` (set-up + main job against the lab) and `make test`.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
PYTEST := $(VENV)/bin/pytest

.PHONY: bootstrap demo test lint unit integration molecule lab-up lab-down

bootstrap:
	./scripts/bootstrap

## command 1: set up, bring the lab up and run the toolkit's main job against it
demo: bootstrap
	./scripts/demo

## command 2: every test (lint, unit, integration against the lab, molecule)
test: lint unit integration molecule

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/ansible-lint

unit:
	$(PYTEST) -q -m 'not integration' tests/unit tests/security

lab-up:
	./scripts/lab up

lab-down:
	./scripts/lab down

integration: lab-up
	$(PYTEST) -q -m integration tests/integration tests/security

molecule:
	./scripts/molecule_all
