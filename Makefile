# Entry point. `make demo` and `make test` are the README's two commands: each
# installs what is missing, builds, and runs.
BUILD_RELEASE := build/release
BUILD_SANITIZE := build/sanitize
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build demo test test-fast format clean

all: build

deps:
	@scripts/install-deps build

build: deps
	@cmake -S . -B $(BUILD_RELEASE) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_RELEASE) -j $(JOBS)

demo: build
	@rm -rf build/demo-db
	$(BUILD_RELEASE)/cirrus --db build/demo-db demo

# Every test, built with AddressSanitizer and UndefinedBehaviorSanitizer.
test: deps
	@cmake -S . -B $(BUILD_SANITIZE) -DCMAKE_BUILD_TYPE=Sanitize >/dev/null
	@cmake --build $(BUILD_SANITIZE) -j $(JOBS)
	cd $(BUILD_SANITIZE) && ctest --output-on-failure -j $(JOBS) --timeout 900

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
