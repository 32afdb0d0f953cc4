# Streamr — top-level commands. `make test` and `make demo` are the two that matter.
SHELL := /bin/bash
SWIFT ?= swift
BUILD_FLAGS ?=
DEB_PACKAGES := libsystemd-dev libsqlite3-dev libssl-dev libprotobuf-c-dev protobuf-c-compiler \
	protobuf-compiler pkg-config openssl systemd systemd-container debootstrap \
	debhelper dpkg-dev fakeroot lintian iproute2 procps psmisc curl binutils sqlite3 python3 python3-venv ffmpeg rtmpdump \
	chromium chromium-driver

.PHONY: all deps ffmpeg9 browser-tools build test unit-test integration-test fuzz-smoke fuzz proto proto-check demo bench clean \
	deb deb-repack deb-clean package-test

all: build

# Installs every Debian package the build, tests and demo need (as root).
deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	  if [ -n "$$missing" ]; then echo "installing:" $$missing; apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; fi; \
	else echo "not root: skipping apt-get (need: $(DEB_PACKAGES))"; fi

build: deps
	$(SWIFT) build $(BUILD_FLAGS) --build-tests

# Regenerates the committed protoc-c output from proto/streamr.proto.
proto:
	protoc-c --c_out=Sources/CStreamrProto -Iproto proto/streamr.proto
	mv Sources/CStreamrProto/streamr.pb-c.h Sources/CStreamrProto/include/streamr.pb-c.h

# Fails when the committed generated C differs from a fresh generation.
proto-check:
	@tmp=$$(mktemp -d); protoc-c --c_out=$$tmp -Iproto proto/streamr.proto && \
	  diff -u Sources/CStreamrProto/streamr.pb-c.c $$tmp/streamr.pb-c.c && \
	  diff -u Sources/CStreamrProto/include/streamr.pb-c.h $$tmp/streamr.pb-c.h && \
	  echo "proto-check: generated C is up to date"; rc=$$?; rm -rf $$tmp; exit $$rc

# ffmpeg 9, static, from PyPI's imageio-ffmpeg: the HLS tests encode HEVC, AV1 and Opus into
# Enhanced RTMP FLV with it (Debian 12's ffmpeg 5.1 cannot). Kept in .build-tools/venv.
FFMPEG9_VENV := .build-tools/venv
ffmpeg9:
	@[ -x $(FFMPEG9_VENV)/bin/python ] || python3 -m venv $(FFMPEG9_VENV)
	@$(FFMPEG9_VENV)/bin/python -c 'import imageio_ffmpeg' 2>/dev/null || $(FFMPEG9_VENV)/bin/pip install -q imageio-ffmpeg

# selenium (PyPI) in the same venv: tests/integration/test-browser.sh drives Debian's headless
# chromium through chromium-driver with it.
browser-tools: ffmpeg9
	@$(FFMPEG9_VENV)/bin/python -c 'import selenium' 2>/dev/null || $(FFMPEG9_VENV)/bin/pip install -q selenium

# With STREAMR_REQUIRE_FFMPEG9=1 the tests that need ffmpeg 9 fail, not skip, without it.
unit-test: ffmpeg9
	STREAMR_FFMPEG9=$$($(FFMPEG9_VENV)/bin/python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())') \
	  STREAMR_REQUIRE_FFMPEG9=1 $(SWIFT) test $(BUILD_FLAGS) --skip-build

# The soak (tests/integration/test-soak.sh) runs 30 minutes by default; here a short one.
SOAK_SECONDS ?= 120
integration-test: browser-tools
	SOAK_SECONDS=$(SOAK_SECONDS) STREAMR_FFMPEG9=$$($(FFMPEG9_VENV)/bin/python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())') \
	  BIN=$$($(SWIFT) build $(BUILD_FLAGS) --show-bin-path) tests/integration/run-all.sh

# Coverage-guided fuzzing (fuzz/run.sh): every harness, or one with FUZZ=http (frames, rtmp,
# flv, http, joinline, config, hls). `make fuzz` runs FUZZ_RUNS executions per harness;
# `make fuzz-smoke` (part of `make test`) a short run of each, at most FUZZ_SMOKE_SECONDS.
FUZZ ?= all
FUZZ_RUNS ?= 200000
FUZZ_SMOKE_RUNS ?= 50000
FUZZ_SMOKE_SECONDS ?= 4

fuzz-smoke:
	FUZZ_RUNS=$(FUZZ_SMOKE_RUNS) FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) fuzz/run.sh $(FUZZ)

fuzz:
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SECONDS= fuzz/run.sh $(FUZZ)

# Debian packages (streamr-host, streamr-node, streamrctl + -dbgsym) into out/.
# Release build with the Swift stdlib linked statically, in .build-deb (never .build).
deb: deps
	tests/packaging/build-debs.sh

# Repackage without recompiling (after changing units/, debian/ scripts or docs).
deb-repack:
	tests/packaging/build-debs.sh --no-clean

deb-clean:
	debian/rules clean
	rm -rf .build-deb out

# lintian (errors fail), library dependencies, then booted Debian 12 containers (root):
# install, sockets, activation, streamrctl, journal, restart, hardening scores,
# upgrade, remove, purge; then one host and two friends on a bridged test network, end
# to end (join, publish, /watch, pause, stop, a host reboot). The debootstrapped root is
# cached in .build-container/.
package-test: deb
	tests/packaging/lintian.sh
	tests/packaging/check-depends.sh
	tests/packaging/container-test.sh
	tests/packaging/cross-host-test.sh

test: build proto-check unit-test integration-test fuzz-smoke package-test

demo: build
	BIN=$$($(SWIFT) build $(BUILD_FLAGS) --show-bin-path) scripts/demo.sh

bench: deps browser-tools
	$(SWIFT) build -c release
	bench/run.sh

clean:
	rm -rf .build
