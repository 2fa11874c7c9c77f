# promoguard: every target installs what it needs that the machine lacks.
# The README's two set-up commands are `make run` and `make test`.

GO        ?= go
BIN       := bin/promoguard
CACHE     := $(CURDIR)/.cache
STATICCHECK_VERSION := v0.8.2
export GOTOOLCHAIN := local

# fuzz targets run by `make test`, as package:Target:executions. Counts,
# not durations: Go 1.26's fuzz coordinator can fail a run with "context
# deadline exceeded" when a -fuzztime duration ends mid-execution
# (golang/go#75804, fixed in 1.27). Each count is about 5 s here.
FUZZ_TARGETS := ./rules:FuzzLoad:20000 ./rules:FuzzExpr:5500 ./event:FuzzDecode:60000 \
	./rules/testspec:FuzzLoadTests:12000 ./engine:FuzzRestore:7000 ./internal/config:FuzzConfigFile:12000 ./connectors/file:FuzzLineReader:20000 \
	./internal/yamlpos:FuzzParse:20000
FUZZSCALE ?= 1

.PHONY: all build test unit fuzz run bench lint deps clean

all: build

deps:
	@command -v $(GO) >/dev/null || { echo "Go is required (https://go.dev/doc/install)"; exit 1; }
	$(GO) mod download

build: deps
	$(GO) build -o $(BIN) ./cmd/promoguard

# The whole suite: vet, unit tests with the race detector, then each fuzz
# target for its executions times FUZZSCALE (fuzzing runs one target per
# invocation, without -race),
# then the integration tests against a real Kafka broker (see `integration`).
test: deps unit fuzz integration

# bench/peers is a module of its own (CEL and OPA stay out of promoguard's
# go.mod), so ./... leaves it out: its tests, that the CEL and Rego
# translations give the same records as the rules, run here too (a few
# seconds; without -race, which would make OPA's evaluation minutes long).
unit:
	$(GO) vet ./...
	$(GO) test -race -shuffle=on -count=1 ./...
	$(GO) test -tags promoguard_safe -count=1 ./engine/  # facts boxed without package unsafe
	$(GO) run ./cmd/promoguard test examples/tests
	cd bench/peers && $(GO) vet ./... && $(GO) test -shuffle=on -count=1 ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; n=$$(( $${rest##*:} * $(FUZZSCALE) )); \
		echo "fuzz $$pkg $$name for $$n executions"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $${n}x -fuzzminimizetime 2000x $$pkg; \
	done

# Integration tests: test files with the `integration` build tag (tests named
# TestIntegration...), run one package at a time against one real Apache Kafka
# broker (connectors/kafka/testbroker/broker.sh: jars from Maven Central cached
# outside the repo, KRaft, a free 127.0.0.1 port), which is always stopped, on
# failure or Ctrl-C too; its log is kept when the tests fail. Only packages
# that have integration tests run (their unit tests run again with them). With
# PROMOGUARD_TEST_BROKERS set, they use that broker instead of starting one.
BROKER      := connectors/kafka/testbroker/broker.sh
WITH_BROKER := connectors/kafka/testbroker/with-broker.sh
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
.PHONY: integration integration-tools

integration-tools:
	@missing=; \
	command -v kcat >/dev/null || missing="$$missing kcat"; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

integration: deps integration-tools
	@set -eu; \
	pkgs=$$($(GO) list -tags integration -f '{{$$d := .Dir}}{{range .TestGoFiles}}{{$$d}}/{{.}} {{end}}{{range .XTestGoFiles}}{{$$d}}/{{.}} {{end}}' ./... \
		| xargs -r grep -lE '^//go:build.*[^!]integration\b' | xargs -r -n1 dirname | sort -u); \
	[ -n "$$pkgs" ] || { echo "integration: no test file has the integration build tag"; exit 1; }; \
	$(WITH_BROKER) $(GO) test -race -count=1 -p 1 -timeout 30m -tags integration $$pkgs

# The reliability scenarios of RELIABILITY.md (faults injected while the
# daemon works, compared with a fault-free replay) at their larger size, on
# a broker of their own; each scenario's row goes to reliability-report.md.
# `make test` runs the same scenarios at a small size (and its daemon binary
# with the race detector, which this run leaves out).
.PHONY: reliability
reliability: deps integration-tools
	rm -f reliability-report.md
	PROMOGUARD_RELIABILITY=large PROMOGUARD_RELIABILITY_REPORT=$(CURDIR)/reliability-report.md \
		$(WITH_BROKER) $(GO) test -count=1 -p 1 -tags integration -timeout 60m -run 'Reliability' -v ./e2e/
	@echo; echo "reliability-report.md:"; cat reliability-report.md

# Shows the product working: checks the example rule pack, then runs the
# daemon with it on its embedded broker, fed by a generated stream (--demo),
# printing the alerts and corrections as they are produced, until Ctrl-C.
run: build
	$(BIN) check examples/rules
	$(BIN) run --rules examples/rules --demo --log-format console

# The hot paths' Go benchmarks, then the side-by-side table: the example
# rules in the engine (expr), hand-written in Go, in CEL and in Rego, on the
# same generated events (bench/peers is a module of its own: CEL and OPA
# stay out of promoguard's go.mod). BENCHMARKS.md has the figures.
BENCH_SKUS   ?= 10000
BENCH_EVENTS ?= 100000
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./rules/ ./engine/ ./bench/
	cd bench/peers && $(GO) mod download && $(GO) run . --skus $(BENCH_SKUS) --events $(BENCH_EVENTS)

# The Kafka path, on a real broker started as `integration` does: a
# pass-through, the daemon at saturation, its restart, and a fixed rate.
KBENCH_SKUS   ?= 20000
KBENCH_EVENTS ?= 400000
.PHONY: bench-kafka
bench-kafka: build integration-tools
	$(WITH_BROKER) sh -c '$(BIN) bench --kafka "$$PROMOGUARD_TEST_BROKERS" --skus $(KBENCH_SKUS) --events $(KBENCH_EVENTS) --kafka-rate 20000 --kafka-duration 10s'

# Deliberate breaks of the code, one at a time, each of which a test must
# catch (scripts/mutants/*.mutant); the ones that need the daemon on a real
# broker get one. Re-run it after a rewrite: a survivor is a test gap.
.PHONY: mutants compare-outputs
mutants: deps integration-tools
	$(WITH_BROKER) scripts/mutants.sh $(MUTANTS)

# Byte-identical outputs of the example week and six generated streams
# between BASE (default origin/main, else HEAD~1) and the work tree.
compare-outputs: deps
	scripts/compare-outputs.sh $(BASE)

$(CACHE)/bin/staticcheck:
	GOBIN=$(CACHE)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: deps $(CACHE)/bin/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(CACHE)/bin/staticcheck ./...
	$(CACHE)/bin/staticcheck -tags integration ./...

clean:
	rm -rf bin
