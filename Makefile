# Thin wrapper for the README's commands; CMake does the building.
BUILD  ?= build
ASAN   ?= build-asan
TSAN   ?= build-tsan
VALGRIND_BUILD ?= build-valgrind
JOBS   ?= 2

.PHONY: all deps build asan tsan test valgrind bench docs clean fuzz fuzz-build

all: build

deps:
	@sh tools/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DAJ_SANITIZE=address >/dev/null
	cmake --build $(ASAN) -j $(JOBS)

tsan: deps
	cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAJ_SANITIZE=thread >/dev/null
	cmake --build $(TSAN) -j $(JOBS)

# Release, then ASan+UBSan, then ThreadSanitizer (a report fails the test;
# tests/tsan.supp has the one suppression and its reason), then each
# libFuzzer harness briefly. TSan skips the NumPy conformance replay: one
# thread, and 23,000 cases.
test: build asan tsan fuzz-build
	ctest --test-dir $(BUILD) --output-on-failure
	ASAN_OPTIONS=detect_leaks=1 \
		ctest --test-dir $(ASAN) --output-on-failure
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$(CURDIR)/tests/tsan.supp" \
		ctest --test-dir $(TSAN) --output-on-failure -E '^conformance'
	FUZZ_SEED=1 sh tests/fuzz/run.sh $(FUZZ) $(FUZZ_CI_SECONDS)

# The C tests under valgrind's memcheck: any error or definite leak fails
# the test (tests/valgrind.supp lists the suppressions and their reasons).
# Slow: an hour or more; not part of `make test`. Not the NumPy
# conformance replay: it checks values to the last bit, which valgrind's
# emulated FPU does not give (tests/ref.h ref_exact_fp), and its 23,000
# cases would take hours more.
VALGRIND = valgrind;-q;--error-exitcode=99;--leak-check=full;--errors-for-leak-kinds=definite;--num-callers=60;--suppressions=$(CURDIR)/tests/valgrind.supp
valgrind: deps
	@sh tools/deps.sh valgrind
	cmake -S . -B $(VALGRIND_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		"-DCMAKE_CROSSCOMPILING_EMULATOR=$(VALGRIND)" >/dev/null
	cmake --build $(VALGRIND_BUILD) -j $(JOBS)
	ctest --test-dir $(VALGRIND_BUILD) --output-on-failure --timeout 14400 \
		-E '^conformance'

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

# BENCH_ROUNDS rounds of every workload, arrjit-bench and the Python
# anchors (NumPy, numexpr, Numba) timed back to back per workload
# (bench/interleave.py drives both as servers), then the report:
# bench/RESULTS.md's marked section and bench/results.png, each system at
# its best round (bench/report.py). A wrong result in arrjit-bench fails
# here; the anchors never do (a missing Python package only leaves its
# columns out).
PY           ?= /usr/bin/python3
BENCH_ARGS   ?= --quick
BENCH_ROUNDS ?= 2
bench: build
	@sh tools/deps.sh bench || echo "bench: going on; the missing packages' columns are left out"
	rm -f $(BUILD)/bench-arrjit.jsonl $(BUILD)/bench-anchors.jsonl
	AJ_CACHE=off $(PY) bench/interleave.py --bench $(BUILD)/bin/arrjit-bench \
		--anchors bench/anchors.py --python $(PY) --rounds $(BENCH_ROUNDS) \
		--arrjit-out $(BUILD)/bench-arrjit.jsonl \
		--anchors-out $(BUILD)/bench-anchors.jsonl -- $(BENCH_ARGS)
	$(PY) bench/report.py --arrjit $(BUILD)/bench-arrjit.jsonl \
		--anchors $(BUILD)/bench-anchors.jsonl \
		--command "make bench ($(BENCH_ROUNDS) rounds, each workload's arrjit-bench $(BENCH_ARGS) and anchors.py $(BENCH_ARGS) back to back: bench/interleave.py)"

# Reference docs of include/arrjit.h (Doxygen, docs/Doxyfile): open
# $(BUILD)/docs/html/index.html. Fails on any Doxygen warning, such as an
# undocumented function (make test runs the same check).
docs: deps
	sh tests/docs_test.sh $(CURDIR) $(abspath $(BUILD))/docs

clean:
	rm -rf $(BUILD) $(ASAN) $(TSAN) $(VALGRIND_BUILD) $(FUZZ)
