# promoguard: every target installs what it needs that the machine lacks.
# The README's two set-up commands are `make run` and `make test`.

GO        ?= go
BIN       := bin/promoguard
CACHE     := $(CURDIR)/.cache
STATICCHECK_VERSION := v0.8.2
FUZZTIME  ?= 5s
export GOTOOLCHAIN := local

# fuzz targets run by `make test`, as package:Target
FUZZ_TARGETS := ./rules:FuzzLoad ./rules:FuzzExpr ./engine:FuzzDecode

.PHONY: all build test unit fuzz run bench lint deps clean

all: build

deps:
	@command -v $(GO) >/dev/null || { echo "Go is required (https://go.dev/doc/install)"; exit 1; }
	$(GO) mod download

build: deps
	$(GO) build -o $(BIN) ./cmd/promoguard

# The whole suite: vet, unit tests with the race detector, then each fuzz
# target for $(FUZZTIME) (fuzzing runs one target per invocation, without -race).
test: deps unit fuzz

unit:
	$(GO) vet ./...
	$(GO) test -race -shuffle=on -count=1 ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# Shows the product working on the examples: checks the rule pack, then
# replays a Black Friday week through it.
run: build
	$(BIN) check examples/rules
	$(BIN) replay --rules examples/rules --out bin/black-friday.out.ndjson examples/events/*.ndjson
	@echo "outputs: bin/black-friday.out.ndjson (one JSON record per line)"

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./rules/ ./engine/

$(CACHE)/bin/staticcheck:
	GOBIN=$(CACHE)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: deps $(CACHE)/bin/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(CACHE)/bin/staticcheck ./...

clean:
	rm -rf bin
