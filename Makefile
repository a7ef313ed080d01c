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
                 apparmor secilc selinux-policy-default policycoreutils docker.io busybox-static
TEST_PACKAGES := $(DEMO_PACKAGES) docker.io runc crun strace bpftrace busybox-static gcc libc6-dev \
                 apparmor secilc selinux-policy-default policycoreutils uidmap seccomp \
                 setools mmdebstrap chromium containerd containernetworking-plugins gcc-multilib

.PHONY: help demo test unit fuzz lint bench bench-compare engine demo-engine system-packages \
        clean cri-stubs image

help:
	@echo "make demo   - the three jobs: generate a bundle, audit containers, gate and fix files"
	@echo "make test   - install what the tests need, start Docker, run lint and all tests"
	@echo "make unit   - the unit tests only: no engine, no root, a minute on two cores"
	@echo "make fuzz   - the long mutation fuzzing run (make test runs a short one)"
	@echo "make bench  - print the benchmark figures"
	@echo "make lint   - ruff and mypy"
	@echo "make image  - build the harden image (reproducible; docker load)"

$(VENV)/.installed: pyproject.toml | $(CACHE)/demo-packages.stamp
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 \
	  | { grep -v "^WARNING: Location 'file:" || true; }
	touch $@

# Install only the Debian packages that are missing; nothing is reinstalled. The lists are
# in this file: when it changes, the check runs again (gcc-multilib came in that way).
$(CACHE)/%-packages.stamp: Makefile
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
# Start dockerd without any bridge network (see MACHINE.md) unless an engine answers.
define START_ENGINE
	@if ! docker info >/dev/null 2>&1; then \
	  echo "starting dockerd"; \
	  mkdir -p /var/log; \
	  runtimes=""; [ -x /usr/bin/crun ] && runtimes="--add-runtime crun=/usr/bin/crun"; \
	  nohup dockerd -b none --iptables=false --ip-masq=false $$runtimes \
	    >/var/log/dockerd.log 2>&1 & \
	  for i in $$(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	  docker info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -20 /var/log/dockerd.log; exit 1; }; \
	fi
endef

engine: system-packages
	$(START_ENGINE)

demo-engine: $(CACHE)/demo-packages.stamp
	$(START_ENGINE)

# The three jobs. Containers and the image are harden-demo-*, network none, removed at
# the end whatever happens; the files land in $(OUT)/.
DEMO_NAME := harden-demo
demo: $(VENV)/.installed demo-engine
	@echo "== 1. generate: a least-privilege bundle for the web spec, checked by real tools"
	$(HARDEN) spec check profiles/workloads/*.yaml
	$(HARDEN) generate profiles/workloads/web.yaml -o $(OUT)/web --all
	$(HARDEN) verify $(OUT)/web
	$(HARDEN) diff $(OUT)/web docker-default --arch x86_64 --no-names
	@echo "== 2. audit: two containers started for the demo, judged, removed"
	@set -e; rm -rf $(OUT)/rootfs; mkdir -p $(OUT)/rootfs/bin; \
	cp /bin/busybox $(OUT)/rootfs/bin/busybox; ln -sf busybox $(OUT)/rootfs/bin/sh; \
	ln -sf busybox $(OUT)/rootfs/bin/sleep; \
	tar -C $(OUT)/rootfs -c . | docker import - $(DEMO_NAME)-busybox:1 >/dev/null; \
	trap 'docker rm -f $(DEMO_NAME)-web $(DEMO_NAME)-risky >/dev/null 2>&1; \
	      docker rmi $(DEMO_NAME)-busybox:1 >/dev/null 2>&1; rm -rf $(OUT)/rootfs' EXIT; \
	docker run -d --name $(DEMO_NAME)-web --network none --cap-drop ALL --read-only \
	  --security-opt no-new-privileges --security-opt seccomp=$(OUT)/web/seccomp.json \
	  --user 101:101 --memory 64m --cpus 0.5 --pids-limit 64 \
	  $(DEMO_NAME)-busybox:1 /bin/sleep 600 >/dev/null; \
	docker run -d --name $(DEMO_NAME)-risky --network none --pid host \
	  --cap-add SYS_ADMIN --security-opt seccomp=unconfined \
	  $(DEMO_NAME)-busybox:1 /bin/sleep 600 >/dev/null; \
	$(HARDEN) audit $(DEMO_NAME)-web $(DEMO_NAME)-risky --fail-on never \
	  --output html=$(OUT)/audit.html --output json=$(OUT)/audit.json
	@echo "== 3. gate: a compose file judged, fixed by harden fix, judged again"
	@mkdir -p $(OUT)/gate && printf '%s\n' \
	  '# the demo shop: harden fix keeps this comment' 'name: shop' 'services:' \
	  '  web:' '    image: registry.example/shop:1.4.2   # pinned' '    privileged: true' \
	  '    cap_add: [NET_ADMIN]' > $(OUT)/gate/compose.yaml
	$(HARDEN) gate $(OUT)/gate/compose.yaml --output sarif=$(OUT)/gate/harden.sarif || true
	$(HARDEN) fix $(OUT)/gate/compose.yaml --write
	$(HARDEN) gate $(OUT)/gate/compose.yaml
	@echo "reports: $(OUT)/audit.html $(OUT)/gate/harden.sarif; bundle: $(OUT)/web/"
	@echo "put harden on PATH: export PATH=\"$$PWD/$(VENV)/bin:\$$PATH\""

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check harden tests bench
	$(VENV)/bin/ruff format --check harden tests bench
	$(VENV)/bin/mypy

# Unit tests on every core, then the integration tests (real engine, containerd, root)
# one at a time: they start containers and measure the kernel, and must not race.
test: $(VENV)/.installed system-packages engine lint
	HARDEN_REQUIRE_DOCKER=1 $(PY) -m pytest -n auto tests/unit
	$(PY) -m pytest -n auto tests/fuzz
	HARDEN_REQUIRE_DOCKER=1 $(PY) -m pytest tests/integration

# The fast loop: unit tests in parallel, no engine started, nothing needing root.
unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit -q -n auto -m "not docker and not root"

# The long fuzzing run: 5,000 new cases per input kind (HARDEN_FUZZ_EXAMPLES=N for more);
# `make test` runs the same tests with 100 fixed cases each.
fuzz: $(VENV)/.installed
	HARDEN_FUZZ=long $(PY) -m pytest tests/fuzz -q -n auto --hypothesis-show-statistics

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
