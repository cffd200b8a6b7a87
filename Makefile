# Thin wrappers over scripts/setup.sh, CMake presets and CTest (SPEC §1).
.PHONY: setup build debug demo test clean

JOBS ?= $(shell nproc)

setup:
	@bash scripts/setup.sh

build: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

demo: build
	@bash scripts/demo.sh build/bin

test: build
	@ctest --preset release -j $(JOBS)

clean:
	rm -rf build build-*
