# The two set-up commands (README): `make run` and `make test`. Everything else is a helper.
JOBS ?= $(shell nproc)
CTEST_FLAGS ?= --output-on-failure -j $(JOBS)

.PHONY: run test test-long test-mutants fuzz deps build build-run build-release-tier build-asan \
        build-tsan test-release test-asan test-tsan \
        lint format bench bench-quick bench-mailbox demo package clean

run: deps build-run
	./build/release/apps/heraldd/heraldd

test: deps lint test-release test-asan test-tsan
	@echo "make test: all tiers passed (release, asan+ubsan, tsan)"

deps:
	@scripts/install-deps

build: deps
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS)

# What `make run` needs: the daemon and the CLI, not the tests.
build-run: deps
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS) --target heraldd herald_cli

# make test's release tier: every target but the unit and property tests, which run in the
# ASan+UBSan tier (cmake/herald.cmake, herald_release_tier_target).
build-release-tier: deps
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS) --target herald_release_tier

build-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build build/asan -j $(JOBS)

build-tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build build/tsan -j $(JOBS) --target herald_tsan_tests

# Long runs (seed sweeps, soak and restart loops: ctest label long, and the mutation suite) are
# not part of `make test`.
test-long: build test-mutants
	cd build/release && ctest $(CTEST_FLAGS) -L long

# The fuzz targets for FUZZ_SECONDS (600) each, instead of make test's 15-30 s.
FUZZ_SECONDS ?= 600
fuzz: build-asan
	@for t in packet_decode body_decode reassembler; do \
	    timeout $$(($(FUZZ_SECONDS) + 120)) cmake -DFUZZER=build/asan/tests/fuzz/$${t}_fuzz \
	        -DCORPUS=tests/fuzz/corpus/$$t -DWORK=build/asan/tests/fuzz/$${t}_fuzz.long \
	        -DSECONDS=$(FUZZ_SECONDS) -P tests/fuzz/run_fuzz.cmake || exit 1; \
	done

# Every realistic bug in tests/mutants/ must make the fast tiers fail (tests/mutants/README.md).
test-mutants: deps
	@scripts/test-mutants --jobs $(JOBS)

# The release binaries (daemon, CLI, package, benchmarks' smoke runs), every integration test and
# the simulator's full seed sweeps; the unit and property labels run under ASan+UBSan below (and
# with g++ in test-mutants).
test-release: build-release-tier
	cd build/release && ctest $(CTEST_FLAGS) -LE 'fuzz|long|unit|property'

# ASan+UBSan over every tier, plus the bounded fuzz run (label fuzz).
test-asan: build-asan
	cd build/asan && ctest $(CTEST_FLAGS) -LE long

# ThreadSanitizer over the runtime and integration tiers only (label tsan).
test-tsan: build-tsan
	cd build/tsan && ctest $(CTEST_FLAGS) -L tsan -LE long

# The Debian package (docs/install.md): build/package/herald_<version>_<arch>.deb.
package: build
	@scripts/make-deb

lint:
	@scripts/lint

format:
	@git ls-files '*.h' '*.cpp' | xargs clang-format -i

bench: build
	@./build/release/bench/herald-bench --full
	@./build/release/bench/bench-mailbox --dir build/release/bench-mailbox.tmp
	@./build/release/bench/bench-naming
	@./build/release/bench/bench-flood

# Persistent mailboxes against append+fdatasync and plain SQLite (docs/performance.md).
bench-mailbox: build
	@./build/release/bench/bench-mailbox --dir build/release/bench-mailbox.tmp

bench-quick: build
	@./build/release/bench/herald-bench --quick

demo: build
	@scripts/demo

clean:
	rm -rf build
