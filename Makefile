# Entry point. `make demo` and `make test` are the README's two commands: each
# installs what is missing, builds, and runs.
BUILD_RELEASE := build/release
BUILD_SANITIZE := build/sanitize
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build demo test test-fast format clean bench

all: build

deps:
	@scripts/install-deps build

build: deps
	@cmake -S . -B $(BUILD_RELEASE) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_RELEASE) -j $(JOBS)

demo: build
	@rm -rf build/demo-db
	$(BUILD_RELEASE)/cirrus --db build/demo-db demo

# Every test, built with AddressSanitizer and UndefinedBehaviorSanitizer,
# the benchmark harness too (its smoke test runs every engine at a tiny size).
test:
	@scripts/install-deps bench
	@cmake -S . -B $(BUILD_SANITIZE) -DCMAKE_BUILD_TYPE=Sanitize -DCIRRUS_BENCH=ON >/dev/null
	@cmake --build $(BUILD_SANITIZE) -j $(JOBS)
	cd $(BUILD_SANITIZE) && ctest --output-on-failure -j $(JOBS) --timeout 900

# The side-by-side benchmark (bench/README.md): installs RocksDB, LevelDB, LMDB
# and gnuplot, builds cirrus-bench, runs the quick comparison and writes
# bench/results/REPORT.md, latest.json and the plots.
BUILD_BENCH := build/bench
BENCH_ARGS ?= --num 300000 --reads 200000 --duration 8 --cloud s3-standard,s3-express --cloud-seconds 5
bench:
	@scripts/install-deps bench
	@cmake -S . -B $(BUILD_BENCH) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIRRUS_BENCH=ON >/dev/null
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

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
