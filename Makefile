# Entry point. `make demo` and `make test` are the README's two commands: each
# installs what is missing, builds, and runs.
BUILD_RELEASE := build/release
BUILD_SANITIZE := build/sanitize
BUILD_TSAN := build/tsan
# Under ThreadSanitizer: every unit and conformance test, and the CLI tests
# of the changefeed follower and leases (each process runs its background
# threads). The multi-process CLI tests cost minutes each under TSan and
# find nothing the unit tests do not (TSan sees races inside one process).
TSAN_TESTS ?= ^(unit|conformance)/|^cli/test_cli_(stream|lease)$$
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build demo test test-fast format clean bench install check-install

all: build

deps:
	@scripts/install-deps build

build: deps
	@cmake -S . -B $(BUILD_RELEASE) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIRRUS_WERROR=ON >/dev/null
	@cmake --build $(BUILD_RELEASE) -j $(JOBS)

demo: build
	@rm -rf build/demo-db
	$(BUILD_RELEASE)/cirrus --db build/demo-db demo

# Every test, built with AddressSanitizer and UndefinedBehaviorSanitizer,
# the benchmark harness too (its smoke test runs every engine at a tiny size);
# then TSAN_TESTS built with ThreadSanitizer (every race fatal), then
# check-install (a clang Release build, installed and linked from outside).
test:
	@scripts/install-deps test
	@cmake -S . -B $(BUILD_SANITIZE) -DCMAKE_BUILD_TYPE=Sanitize -DCIRRUS_BENCH=ON -DCIRRUS_WERROR=ON >/dev/null
	@cmake --build $(BUILD_SANITIZE) -j $(JOBS)
	cd $(BUILD_SANITIZE) && ctest --output-on-failure -j $(JOBS) --timeout 900
	@cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=Tsan -DCIRRUS_WERROR=ON >/dev/null
	@cmake --build $(BUILD_TSAN) -j $(JOBS)
	cd $(BUILD_TSAN) && ctest --output-on-failure -j $(JOBS) --timeout 900 -R '$(TSAN_TESTS)'
	scripts/check-install

# The side-by-side benchmark (bench/README.md): installs RocksDB, LevelDB, LMDB
# and gnuplot, builds cirrus-bench, runs the quick comparison and writes
# bench/results/REPORT.md, latest.json and the plots.
BUILD_BENCH := build/bench
BENCH_ARGS ?= --num 300000 --reads 200000 --duration 8 --cloud s3-standard,s3-express --cloud-seconds 5
bench:
	@scripts/install-deps bench
	@cmake -S . -B $(BUILD_BENCH) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIRRUS_BENCH=ON -DCIRRUS_WERROR=ON >/dev/null
	@cmake --build $(BUILD_BENCH) -j $(JOBS) --target cirrus-bench cirrus-bench-report
	@rm -rf $(BUILD_BENCH)/data $(BUILD_BENCH)/plots && mkdir -p bench/results $(BUILD_BENCH)/plots
	@uptime > $(BUILD_BENCH)/uptime.txt
	$(BUILD_BENCH)/bench/cirrus-bench $(BENCH_ARGS) --dir $(BUILD_BENCH)/data --json bench/results/latest.json; \
	rc=$$?; \
	$(BUILD_BENCH)/bench/cirrus-bench-report --json bench/results/latest.json --out bench/results \
	  --work $(BUILD_BENCH)/plots --uptime "$$(cat $(BUILD_BENCH)/uptime.txt)" \
	  --command "make bench (cirrus-bench $(BENCH_ARGS))" || rc=1; \
	for g in $(BUILD_BENCH)/plots/*.gp; do gnuplot $$g || rc=1; done; \
	echo "bench: wrote bench/results/REPORT.md"; exit $$rc

# libFuzzer campaigns (scripts/fuzz): builds every tests/fuzz/fuzz_*.c with
# clang in build/fuzz (ASan+UBSan+libFuzzer), fuzzes each for SECONDS and
# merges new coverage into tests/fuzz/corpus/ (which `make test` replays).
SECONDS ?= 60
.PHONY: fuzz
fuzz:
	@scripts/install-deps fuzz
	scripts/fuzz $(SECONDS) $(FUZZ_TARGETS)

# Installs the header, libcirrus.so.MAJOR, libcirrus.a, the cirrus binary,
# cirrus.pc, the CMake package and cirrus(1) under $(DESTDIR)$(PREFIX), from
# a Release build of its own (no tests, so no cmocka; warnings are not errors
# in a user's build). CMAKE_ARGS passes more, e.g. -DCMAKE_C_COMPILER=clang.
PREFIX ?= /usr/local
BUILD_INSTALL ?= build/install
install: deps
	@cmake -S . -B $(BUILD_INSTALL) -DCMAKE_BUILD_TYPE=Release -DCIRRUS_TESTS=OFF \
	  -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_INSTALL) -j $(JOBS)
	DESTDIR=$(DESTDIR) cmake --install $(BUILD_INSTALL)

# What a packager and a user do (part of `make test`): a clang Release build
# with warnings as errors, `make install DESTDIR=...`, then examples/ built
# from outside the tree against the installed copy with pkg-config and with
# find_package, shared and static, and run; only cirrus_* is exported.
check-install:
	@scripts/install-deps test
	scripts/check-install

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
