# Thin wrappers over scripts/setup.sh, CMake presets and CTest (SPEC §1).
.PHONY: setup build debug demo test check test-release test-asan test-tsan fuzz package clean

JOBS ?= $(shell nproc)
# Seconds each fuzz target runs in `make fuzz` (and so in `make test`; kept so that `make test`
# stays under 25 minutes on 2 cores: five targets, two at a time).
FUZZ_TIME ?= 10
# The fuzz targets (tests/fuzz/fuzz_NAME.cpp): the fuzz step builds only these.
FUZZ_TARGETS := $(patsubst tests/fuzz/%.cpp,%,$(wildcard tests/fuzz/fuzz_*.cpp))
# What the ThreadSanitizer step runs (label integration): the two programs, the examples the
# Python tests start, and the C++ integration tests. Unit tests are not built there (they run under
# ASan).
TSAN_TARGETS := netcalld netcall_cli calculator_server calculator_client my_server inventory_server \
                $(notdir $(basename $(wildcard tests/integration/*_test.cpp)))

setup:
	@bash scripts/setup.sh

build: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

demo: build
	@bash scripts/demo.sh build/bin

# What CI runs (.ci/run): every step below in order, stopping at the first that fails, each
# step's time printed.
test: setup
	@for step in test-release test-asan test-tsan fuzz; do \
	  start=$$(date +%s); \
	  $(MAKE) --no-print-directory $$step || exit 1; \
	  echo "make test: $$step passed in $$(( $$(date +%s) - start )) s" >&2; \
	done

# The fast loop while developing: the release build and the whole suite.
check: test-release

# Release build; unit, integration and interop tests, and the fuzz corpora replayed.
test-release: build
	@ctest --preset release -j $(JOBS)

# ctest with preset $(1) whose processes log sanitizer reports to build-$(1)/sanitizer-report.PID
# (CMakePresets.json): fails when any report was written, and prints them. This catches reports
# from the netcalld processes the Python tests start, whose exit codes are not always checked.
define ctest_sanitized
	@rm -f build-$(1)/sanitizer-report.*
	@status=0; ctest --preset $(1) -j $(JOBS) || status=$$?; \
	for f in build-$(1)/sanitizer-report.*; do \
	  [ -e "$$f" ] || continue; echo "== $$f" >&2; cat "$$f" >&2; status=1; \
	done; exit $$status
endef

# AddressSanitizer + UndefinedBehaviorSanitizer build; the whole suite.
test-asan: setup
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	$(call ctest_sanitized,asan)

# ThreadSanitizer build; the integration tests (the tsan test preset selects label integration).
test-tsan: setup
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS) --target $(TSAN_TARGETS)
	$(call ctest_sanitized,tsan)

# libFuzzer build (clang); each target for FUZZ_TIME seconds (tests/fuzz/run.sh).
fuzz: setup
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	@bash tests/fuzz/run.sh $(FUZZ_TIME)

# A .deb of the release build (cmake/package.cmake): build/netcall_VERSION-1_ARCH.deb.
package: build
	@cd build && cpack -G DEB

clean:
	rm -rf build build-*
