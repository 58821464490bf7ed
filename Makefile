# SpikeSweep: the two commands on a fresh machine are `make demo` and `make test`.
# Both install missing Debian packages first (as root; otherwise they say what to install).

SWIFT ?= swift
CONFIG ?= release
BIN := .build/$(CONFIG)/spikesweep
DEMO := demo-out

.PHONY: all deps build test dist demo bench clean slurm-up slurm-down

all: build

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build -c $(CONFIG)

# The whole test suite, in release mode (tests train real networks). The Slurm tests need a
# cluster: `make slurm-up` (as root) first, as CI does; without one they skip with a message.
test: deps
	$(SWIFT) build -c $(CONFIG)
	$(SWIFT) test -c $(CONFIG)

# One self-contained binary, dist/spikesweep, for nodes without Swift and without MPI (see
# README "Deployment"): prints its size, its libraries and the oldest glibc it runs on, and
# fails if it links a Swift runtime, MPI or OpenBLAS, or needs more than it prints (or more
# than DIST_MAX_GLIBC, when set). Built in .build-dist; `make test` runs it in a namespace.
dist: deps
	SWIFT=$(SWIFT) scripts/make-dist

# Synthetic N-MNIST -> prepared file -> statistics -> the smoke sweep -> its leaderboard -> report.html.
demo: build
	@mkdir -p $(DEMO)
	$(BIN) data synth -o $(DEMO)/synthetic-train.spk --count 1000 --seed 1
	$(BIN) data inspect $(DEMO)/synthetic-train.spk
	$(BIN) sweep sweeps/smoke.yaml --results $(DEMO)/results
	$(BIN) leaderboard $(DEMO)/results/smoke --format md
	$(BIN) report $(DEMO)/results/smoke

# Benchmarks (see README "Performance"); BENCH_DATA may point at a prepared real subset.
bench: build
	$(BIN) data bench $(or $(BENCH_DATA),$(DEMO)/synthetic-train.spk)

# A single-node Slurm cluster on this machine (see slurm/README.md).
slurm-up:
	scripts/slurm-local up

slurm-down:
	scripts/slurm-local down

clean:
	rm -rf .build .build-dist dist $(DEMO)
