# Thin wrapper for the README's commands; CMake does the building.
BUILD  ?= build
ASAN   ?= build-asan
JOBS   ?= 2

.PHONY: all deps build asan test bench clean

all: build

deps:
	@sh tools/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DAJ_SANITIZE=address >/dev/null
	cmake --build $(ASAN) -j $(JOBS)

test: build asan
	ctest --test-dir $(BUILD) --output-on-failure
	ASAN_OPTIONS=detect_leaks=1 \
		ctest --test-dir $(ASAN) --output-on-failure

bench: build
	$(BUILD)/bin/arrjit-bench --quick

clean:
	rm -rf $(BUILD) $(ASAN)
