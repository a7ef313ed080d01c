# The README's commands. Every target sets up what it needs and is fast the second time.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
HARDEN    := $(VENV)/bin/harden
CACHE     := .cache
OUT       := out

# Debian packages: build deps of python-prctl, the engine, the real checkers and tracers.
DEMO_PACKAGES := libcap-dev libseccomp2 golang-github-containers-common \
                 apparmor secilc selinux-policy-default policycoreutils
TEST_PACKAGES := $(DEMO_PACKAGES) docker.io runc crun strace busybox-static gcc libc6-dev \
                 apparmor secilc selinux-policy-default policycoreutils uidmap seccomp \
                 setools mmdebstrap chromium containerd containernetworking-plugins

.PHONY: help demo test unit lint bench bench-compare engine system-packages clean cri-stubs image

help:
	@echo "make demo   - generate and check the bundle of the built-in web spec"
	@echo "make test   - install what the tests need, start Docker, run lint and all tests"
	@echo "make unit   - the unit tests only: no engine, no root, a minute on two cores"
	@echo "make bench  - print the benchmark figures"
	@echo "make lint   - ruff and mypy"
	@echo "make image  - build the harden image (reproducible; docker load)"

$(VENV)/.installed: pyproject.toml | $(CACHE)/demo-packages.stamp
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 \
	  | { grep -v "^WARNING: Location 'file:" || true; }
	touch $@

# Install only the Debian packages that are missing; nothing is reinstalled.
$(CACHE)/%-packages.stamp:
	@mkdir -p $(CACHE)
	@pkgs="$(if $(filter demo,$*),$(DEMO_PACKAGES),$(TEST_PACKAGES))"; missing=""; \
	for p in $$pkgs; do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

system-packages: $(CACHE)/test-packages.stamp

# Start dockerd without any bridge network (see MACHINE.md) unless an engine answers.
engine: system-packages
	@if ! docker info >/dev/null 2>&1; then \
	  echo "starting dockerd"; \
	  mkdir -p /var/log; \
	  nohup dockerd -b none --iptables=false --ip-masq=false \
	    --add-runtime crun=/usr/bin/crun >/var/log/dockerd.log 2>&1 & \
	  for i in $$(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	  docker info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -20 /var/log/dockerd.log; exit 1; }; \
	fi

demo: $(VENV)/.installed
	$(HARDEN) spec check profiles/workloads/*.yaml
	$(HARDEN) generate profiles/workloads/web.yaml -o $(OUT)/web --all
	$(HARDEN) verify $(OUT)/web
	$(HARDEN) diff $(OUT)/web docker-default --arch x86_64 --arch aarch64 --no-names
	$(HARDEN) explain $(OUT)/web > $(OUT)/web-explain.txt
	head -n 9 $(OUT)/web-explain.txt
	@echo "bundle: $(OUT)/web/ (docker run flags: $(OUT)/web/docker-run.txt;" \
	  "every syscall explained: $(OUT)/web-explain.txt)"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check harden tests bench
	$(VENV)/bin/ruff format --check harden tests bench
	$(VENV)/bin/mypy

test: $(VENV)/.installed engine lint
	HARDEN_REQUIRE_DOCKER=1 $(PY) -m pytest

# The fast loop: unit tests in parallel, no engine started, nothing needing root.
unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit -q -n auto -m "not docker and not root"

bench: $(VENV)/.installed engine
	$(PY) bench/run.py

# This checkout against another commit, in turns in one run: make bench-compare REF=0a7e89d
bench-compare: $(VENV)/.installed engine
	$(PY) bench/compare.py $(REF)

# A reproducible image of harden (deploy/image/build.sh): the DaemonSet's and the action's.
IMAGE := harden:$(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' harden/__init__.py)
image: $(VENV)/.installed engine
	deploy/image/build.sh $(PY) $(IMAGE)

# The CRI gRPC stubs, from the vendored upstream api.proto (see its README).
cri-stubs: $(VENV)/.installed
	sh harden/system/cri/api/regenerate.sh $(PY)

clean:
	rm -rf $(OUT) $(CACHE) .pytest_cache .mypy_cache .ruff_cache
