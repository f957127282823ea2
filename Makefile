# Barrage. The two commands that matter: `make run` and `make test`.
GO       ?= go
BIN      := bin/barrage
# A count, not a duration: go1.26's fuzz coordinator can fail a target with a bare
# "context deadline exceeded" when a duration -fuzztime expires mid-exec
# (golang/go#75804, fixed in go1.27); a count has no deadline to race.
# 150000x is ~10 s per target on a 2-core box.
FUZZTIME ?= 150000x
PKGS     := ./...

.PHONY: all build run stack gen test unit race fuzz bench lint vet staticcheck clean toolchain redis

all: build

build:
	$(GO) build -o $(BIN) ./cmd/barrage

## run: embedded mode (gateway TCP :3101, WebSocket :3102, HTTP push API :3111), no external services
run: build
	exec ./$(BIN) run $(ARGS)

## stack: the distributed stack in the foreground (redis, dev Kafka broker, logic, job, two gateways)
# exec: on SIGTERM make signals its child, which must be the script itself (its trap stops the stack);
# a shell in between would die alone and leave the stack running.
stack: build redis
	BIN=$(BIN) exec bash deploy/stack.sh

## gen: regenerate the Kitex code from upstream/idl with the pinned generator (go tool kitex)
gen:
	bash upstream/gen.sh

## test: vet, the whole suite under the race detector, and a short fuzz run of every decoder
test: toolchain redis vet race fuzz

# -race needs a C compiler; install one on a fresh Debian machine if it is missing.
toolchain:
	@command -v gcc >/dev/null 2>&1 || command -v cc >/dev/null 2>&1 || \
	  { echo "installing gcc for -race"; (apt-get update -qq && apt-get install -y -qq gcc) >/dev/null; }

# Tests and the stack start their own throwaway redis-server processes.
redis:
	@command -v redis-server >/dev/null 2>&1 || \
	  { echo "installing redis-server"; (apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null; }

vet:
	$(GO) vet $(PKGS)

race:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

# Each fuzz target gets FUZZTIME coverage-guided inputs; failures land in testdata/fuzz.
FUZZ_TARGETS := ./codec:FuzzDecode ./codec:FuzzDecodeWSFrame ./codec:FuzzForEachOp ./codec:FuzzDecodeAuth \
                ./upstream/kafkabus:FuzzDecode ./gateway:FuzzInbound
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

## bench: micro-benchmarks next to the code, then the standard load suite (~3 min), which rewrites the
## standard-suite section of docs/BENCHMARKS.md and the charts in docs/bench/
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem ./codec ./shard ./gateway ./upstream/rpc
	./$(BIN) bench -suite standard -charts docs/bench -update-doc docs/BENCHMARKS.md -json bench/out/runs.jsonl

lint: vet staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

clean:
	rm -rf bin
