# SPDX-License-Identifier: MIT
# The two commands of the README's quick start, and a few more:
#   make demo    install what is missing, build, hide a photo in another and reveal it
#   make test    install what is missing, build, run the whole test suite
#   make bench   compare libsteg's speed with the PyTorch reference (needs ../shared)
#   make fuzz    build the libFuzzer targets with clang and run each (FUZZ_SECONDS each)
#   make sanitize  build with ASan + UBSan in build-asan/ and run the test suite there
#   make install PREFIX=/usr/local
#   make deb     Debian packages of this tree (debian/), in out/deb/
BUILD  ?= build
PREFIX ?= /usr/local
JOBS   ?= $(shell nproc)
CMAKE_FLAGS ?=

FUZZ_SECONDS ?= 60

.PHONY: all deps build demo test bench fuzz sanitize install deb clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: build
	@scripts/install-deps.sh --bench
	bench/run $(BUILD)

fuzz:
	@scripts/install-deps.sh --fuzz
	fuzz/run $(FUZZ_SECONDS)

sanitize: deps
	scripts/sanitize-check

install: build
	cmake --install $(BUILD)

deb: deps
	@scripts/install-deps.sh --deb
	dpkg-buildpackage -b -us -uc
	mkdir -p out/deb
	mv ../steg_$$(dpkg-parsechangelog -S Version)_*.* ../*steg*_$$(dpkg-parsechangelog -S Version)_*.deb out/deb/

clean:
	rm -rf $(BUILD) build-asan build-fuzz out
