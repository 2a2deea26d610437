# roomtone: the two commands of the README's quick start are `make demo` and `make test`.
.PHONY: demo test test-cluster setup build lint bench bench-process clean-downloads fuzz fuzz-short

CARGO ?= cargo
DEMO_OUT ?= demo-out

## Fetch ONNX Runtime and the models (idempotent; quick when everything is present).
setup:
	bash scripts/setup.sh

## Release build of the roomtone binary.
build: setup
	$(CARGO) build --release --locked

## Run roomtone on the bundled example clip and print where the results are.
demo: build
	bash scripts/demo.sh target/release/roomtone examples/speech_over_rain.ogg $(DEMO_OUT)

## Formatting, lints, the whole test suite (property tests and the torture script included), the
## Slurm end-to-end test and a short fuzz run (what CI runs).
test: setup
	bash scripts/setup_test.sh
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) clippy --locked --benches --features bench-internals -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --no-deps --lib
	$(CARGO) test --locked
	bash scripts/cluster/slurm_e2e.sh
	$(MAKE) fuzz-short

## examples/cluster/ on a real single-node Slurm (installs slurm-wlm and munge; needs root or sudo):
## kill, requeue and a duplicate task, merged and compared with one batch (~3 minutes).
test-cluster: setup
	bash scripts/cluster/slurm_e2e.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) clippy --locked --benches --features bench-internals -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --no-deps --lib

## criterion benches (per stage and the whole front end).
bench: setup
	$(CARGO) bench --locked --bench pipeline

## Whole-process runs under /usr/bin/time -v on 10-minute files (see BENCHMARKS.md).
bench-process: build
	bash scripts/bench_process.sh

## Coverage-guided fuzzing with AFL++ (cargo-afl, installed if missing; see scripts/fuzz.sh):
## FUZZ_SECONDS per target, one target after another on one core. The headline run is an hour of
## each target; e.g. `make fuzz FUZZ_TARGETS=decode` for the decode -> resample -> features path alone.
FUZZ_SECONDS ?= 3600
FUZZ_TARGETS ?= decode info remix tag
fuzz: setup
	bash scripts/fuzz.sh --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## A short fuzz run for CI: 25 s of each of the four targets (the first build takes longer).
fuzz-short: setup
	bash scripts/fuzz.sh --seconds 25 decode info remix tag
