# tetcd — every target installs what it needs first, so a fresh clone needs nothing but Node 20 and make.
SHELL := /bin/bash
NODE_BIN := node_modules/.bin
STAMP := node_modules/.installed
DATA_DIR ?= default.tetcd

.PHONY: all build typecheck test run bench clean distclean

all: build

# npm ci when node_modules is missing or older than the lock file. A node_modules that is a symlink (a git worktree
# sharing another checkout's packages) is never reinstalled from here: npm ci would empty the directory it points to.
$(STAMP): package.json package-lock.json
	@if [ -L node_modules ]; then echo "node_modules is a symlink to shared packages: not running npm ci in this checkout"; else npm ci --no-audit --no-fund; fi
	@node scripts/check-native.mjs
	@if [ -L node_modules ]; then touch -c $@; else touch $@; fi

build: $(STAMP)
	@rm -rf dist
	$(NODE_BIN)/tsc -p tsconfig.json

typecheck: $(STAMP)
	$(NODE_BIN)/tsc -p tsconfig.json --noEmit

test: build
	@scripts/ensure-etcd.sh
	$(NODE_BIN)/ava
	@# clusters of real processes run one at a time: on a 2-core machine, elections are timing-sensitive
	TETCD_TESTS='dist/test/cluster/**/*.test.js' $(NODE_BIN)/ava --serial --concurrency 1

run: build
	node bin/tetcd --data-dir $(DATA_DIR)

bench: build
	ONLY=$(ONLY) node --expose-gc dist/bench/micro.js

clean:
	rm -rf dist

distclean: clean
	rm -rf node_modules

# etcd 3.4 and tetcd side by side on this machine: writes bench/RESULTS.md within ~20 minutes. Not part of `make test`.
# Sized by BENCH_DURATION, BENCH_WARMUP, BENCH_ROUNDS, BENCH_CLUSTERS, BENCH_SERVERS, BENCH_WORKLOADS,
# BENCH_BUDGET_MINUTES, BENCH_OUT (e.g. `make bench-compare BENCH_ROUNDS=1 BENCH_CLUSTERS=1`).
.PHONY: bench-compare
bench-compare: build
	@scripts/ensure-etcd.sh
	node dist/bench/compare/compare.js
