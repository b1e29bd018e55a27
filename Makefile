# deploybot: `make run` to chat with Marvin and Bender, `make test` to test everything.
# Every target sets up what is missing first: the venv, the spaCy pipeline, the model.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
SPACY_PIPELINE := build/spacy-en
MODEL := models/deploybot.tar.gz

export RASA_TELEMETRY_ENABLED := false
# Reproducible TensorFlow numbers, and no TensorFlow chatter in the terminal.
export TF_ENABLE_ONEDNN_OPTS := 0
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONPATH := $(CURDIR)

TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null) \
	$(wildcard components/*.py) $(SPACY_PIPELINE)/meta.json
SPACY_INPUTS := apps.yml $(wildcard assistants/*.yml) $(wildcard deploybot/language/*.py)

.PHONY: help setup train run serve test test-unit test-conversations validate services lock clean bench load

help:
	@echo "make run    set up, train if needed, start both bots and chat with them in the terminal"
	@echo "make serve  the same stack in the foreground, without the chat"
	@echo "make test   set up, train if needed, run every test"
	@echo "make bench  measure understanding, speed and footprint into docs/benchmarks.md"
	@echo "make load   50 concurrent users per bot through full deploy conversations (LOAD_OPTIONS=--production)"

setup: $(VENV)/.installed

# The venv is rebuilt when the dependency pins change.
$(VENV)/.installed: pyproject.toml requirements.lock
	@python310=$$(scripts/find-python310) || exit 1; \
	echo "Creating $(VENV) with $$python310"; \
	"$$python310" -m venv $(VENV)
	$(BIN)/pip install --quiet -c requirements.lock -e .
	$(BIN)/pip check
	@touch $@

# The spaCy pipeline is built from spacy.blank("en") and the catalog: nothing is downloaded.
$(SPACY_PIPELINE)/meta.json: $(VENV)/.installed $(SPACY_INPUTS)
	$(PY) -m deploybot.language.spacy_pipeline --catalog apps.yml --assistants assistants --out $(SPACY_PIPELINE)

# SpacyNLP's cache key is only the pipeline's path, so a rebuilt pipeline needs --force.
$(MODEL): $(VENV)/.installed $(TRAINING_INPUTS)
	$(BIN)/rasa train --force --fixed-model-name deploybot --out models
	@touch $@

train: $(MODEL)

validate: $(VENV)/.installed
	$(BIN)/rasa data validate --fail-on-warnings

run: $(MODEL)
	$(PY) -m deploybot.cli.stack --chat $(if $(USER_NAME),--user $(USER_NAME))

serve: $(MODEL)
	$(PY) -m deploybot.cli.stack

# Conversation tests replay tests/test_*.yml through the trained model.
test-conversations: $(MODEL)
	$(BIN)/rasa test core --model $(MODEL) --stories tests --fail-on-prediction-errors --out results/conversations

test-unit: $(VENV)/.installed $(SPACY_PIPELINE)/meta.json services
	$(BIN)/pytest -m "not stack" -q

# PostgreSQL, Redis and nginx (Debian packages) for the production-topology, lock-race and proxy tests.
services:
	scripts/ensure-services

test: $(MODEL) validate test-conversations services
	$(BIN)/pytest -q -ra

# Understanding, speed and footprint in one run, written to docs/benchmarks.md (under
# 20 minutes on 2 cores). Not part of `make test`.
bench: $(MODEL)
	$(PY) -m bench.run
	$(PY) -m bench.voice

lock: $(VENV)/.installed
	( sed -n '1,2p' requirements.lock; $(BIN)/pip freeze --exclude-editable | sort -f ) > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf build models results var .pytest_cache

# 50 users per bot through full deploy conversations against the emulator; fails on a failed
# turn or a lost or duplicated deployment (about 10 minutes). Not part of `make test`.
# LOAD_OPTIONS=--production runs it on PostgreSQL and Redis with two replicas per bot.
load: $(MODEL) services
	$(PY) -m bench.load $(LOAD_OPTIONS)
