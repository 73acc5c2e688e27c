# Thin wrapper for the README's commands; CMake does the building.
BUILD  ?= build
ASAN   ?= build-asan
JOBS   ?= 2

.PHONY: all deps build asan test bench clean fuzz fuzz-build

all: build

deps:
	@sh tools/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DAJ_SANITIZE=address >/dev/null
	cmake --build $(ASAN) -j $(JOBS)

test: build asan fuzz-build
	ctest --test-dir $(BUILD) --output-on-failure
	ASAN_OPTIONS=detect_leaks=1 \
		ctest --test-dir $(ASAN) --output-on-failure
	sh tests/fuzz/run.sh $(FUZZ) $(FUZZ_CI_SECONDS)

# libFuzzer harnesses (tests/fuzz): a clang-14 build with ASan and UBSan.
# make fuzz replays the committed inputs, then fuzzes each harness for
# FUZZ_SECONDS; make test does the same for FUZZ_CI_SECONDS.
FUZZ            ?= build-fuzz
FUZZ_SECONDS    ?= 600
FUZZ_CI_SECONDS ?= 20
fuzz-build: deps
	cmake -S . -B $(FUZZ) -DCMAKE_C_COMPILER=clang-14 \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DAJ_SANITIZE=fuzz >/dev/null
	cmake --build $(FUZZ) -j $(JOBS) --target fuzz_parse fuzz_npy fuzz_api

fuzz: fuzz-build
	sh tests/fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS)

# arrjit-bench, then the Python anchors (NumPy, numexpr, Numba), then the
# report: bench/RESULTS.md's marked section and bench/results.png. A wrong
# result in arrjit-bench (exit 1) fails here; the anchors never do (a
# missing Python package only leaves its columns out).
PY         ?= /usr/bin/python3
BENCH_ARGS ?= --quick
bench: build
	@sh tools/deps.sh bench || echo "bench: going on; the missing packages' columns are left out"
	AJ_CACHE=off $(BUILD)/bin/arrjit-bench $(BENCH_ARGS) --json > $(BUILD)/bench-arrjit.jsonl
	$(PY) bench/anchors.py $(BENCH_ARGS) > $(BUILD)/bench-anchors.jsonl || \
		echo "bench: anchors.py exited $$?; the report uses what it wrote"
	$(PY) bench/report.py --arrjit $(BUILD)/bench-arrjit.jsonl \
		--anchors $(BUILD)/bench-anchors.jsonl \
		--command "make bench (arrjit-bench $(BENCH_ARGS) --json; anchors.py $(BENCH_ARGS))"

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
