# ctimport: `make demo` imports the bundled sample and shows it; `make test` runs every test;
# `make bench` runs the benchmark report.

GO       ?= go
GOBIN    := $(shell $(GO) env GOPATH)/bin
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO    := $(or $(shell command -v minio 2>/dev/null),$(GOBIN)/minio)
BIN      := bin/ctimport
BENCH_SCALE ?= 1
DEMO_DB  := demo.duckdb
SAMPLE   := $(CURDIR)/testdata/corpus

.PHONY: all build demo test bench fuzz minio vet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/ctimport

# Import the bundled sample corpus into a fresh database and show what was imported.
demo: build
	rm -f $(DEMO_DB) $(DEMO_DB).wal
	@set -e; \
	arn=$$($(BIN) --db $(DEMO_DB) create-event-data-store --name demo --output text | awk -F'\t' '$$1 == "EventDataStoreArn" {print $$2}'); \
	echo "event data store: $$arn"; \
	for set in invictus-2023-07-10 traildiscover-examples; do \
		$(BIN) --db $(DEMO_DB) start-import --destinations "$$arn" --output table \
			--import-source "S3={S3LocationUri=file://$(SAMPLE)/$$set/}"; \
	done; \
	$(BIN) --db $(DEMO_DB) query --output table --query-statement \
		"SELECT eventSource, count(*) AS events, count(errorCode) AS errors, min(eventTime) AS first, max(eventTime) AS last FROM $${arn##*/} GROUP BY eventSource ORDER BY events DESC LIMIT 15"

# The MinIO server the integration tests start; built from source when missing.
minio: $(MINIO)

$(GOBIN)/minio:
	$(GO) install github.com/minio/minio@$(MINIO_VERSION)

vet:
	test -z "$$(gofmt -l .)" || (gofmt -l . && false)
	$(GO) vet ./...

# Tests save artifacts (the web console's screenshots) under test-artifacts/_artifacts/.
ARTIFACTS := $(CURDIR)/test-artifacts

test: minio vet
	mkdir -p $(ARTIFACTS)
	MINIO_BIN=$(MINIO) $(GO) test -count=1 -timeout 60m -artifacts -outputdir $(ARTIFACTS) ./...

# Run every fuzz target of the module for FUZZTIME each, one after another. A failing input is
# saved under the package's testdata/fuzz/<target>/; commit it with the fix, as a regression case.
FUZZTIME ?= 30s

fuzz:
	@status=0; \
	for file in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "== $$target ($$(dirname $$file))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$(dirname $$file) || status=1; \
		done; \
	done; \
	exit $$status

# Measure ctimport end to end against the floors of this machine and its peers, over one generated corpus
# of about 324,000 events and 420 MB of JSON (BENCH_SCALE=2 doubles its days), with the scaling, latency,
# memory, listing and server-under-load sections; print the report and save it as JSON in bench/out/. Takes a few
# minutes. BENCH_BASE=REV also runs row 1 with the ctimport of git revision REV, beside this one. The Go benchmarks of the rows, on a small corpus: go test -run '^$$' -bench . ./bench/...
bench: minio
	MINIO_BIN=$(MINIO) $(GO) run ./bench/cmd/benchreport -scale $(BENCH_SCALE)

clean:
	rm -rf bin $(DEMO_DB) $(DEMO_DB).wal $(ARTIFACTS)
