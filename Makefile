# Chopin's front door. The C core builds and tests here without Swift.
#   make            build/libchopincore.a and build/chopin-hello (release)
#   make run        the Swift example server chopin-example on :8080 (PORT=, WORKERS=, BACKEND=)
#   make run-tls    chopin-example over HTTPS on :8443 (a self-signed pair made in build/tls/),
#                   plain HTTP on :8080 redirecting to it
#   make run-c      the C example server chopin-hello, same flags
#   make test       every test: C units + integration under ASan/UBSan on both
#                   backends, a short fuzz run, the Swift tests (against a
#                   private PostgreSQL server, scripts/pg.sh), and script tests
#                   with Python clients from PyPI and behind nginx (make test-scripts)
#   make fuzz       the fuzzers (parser, chunked, JSON, router, @JSON's generated code)
#                   for FUZZ_SECONDS each (default 60)
#   make bench      Chopin against SwiftNIO, Hummingbird and hyper, plus per-request costs
#                   (QUICK=1 for a smoke run of a few seconds a server); not part of make test
#   make bench-allocs | bench-syscalls | bench-instructions | bench-idle | bench-matrix | bench-extras | bench-tls   one part alone
#   make docs       the DocC catalog (Sources/Chopin/Chopin.docc) and ChopinJSON's
#                   reference into build/docs/; fails on any DocC warning and on
#                   any public symbol without a /// comment (scripts/doc-coverage.py)
#   make format     apply .clang-format and .swift-format
#   make deps       install what building and testing need (idempotent)

SHELL   := /bin/bash
# Swift where the README says it may be: on PATH, or at /opt/swift.
export PATH := $(PATH):/opt/swift/usr/bin
CC      ?= cc
BUILD   := build
# The core's floors, one folder each (ARCHITECTURE.md): base, http, conn, loop, process.
CORE_SRC := $(wildcard Sources/CChopinCore/*/*.c)
CORE_HDR := $(wildcard include/chopin/*.h Sources/CChopinCore/*/*.h)
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS_COMMON := -std=gnu11 -D_GNU_SOURCE -Iinclude $(WARN)
CFLAGS_REL := $(CFLAGS_COMMON) -O2 -g
CFLAGS_SAN := $(CFLAGS_COMMON) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LIBS    := -l:liburing.a -lpthread -lz -lssl -lcrypto

FUZZ_CC      ?= $(shell command -v clang 2>/dev/null || echo /opt/swift/usr/bin/clang)
SWIFTC       ?= $(shell command -v swiftc 2>/dev/null || echo /opt/swift/usr/bin/swiftc)
FUZZ_SECONDS ?= 60
# C targets (parser, chunked decoder, WebSocket frames and offers, inflate, TLS sessions) and Swift targets (JSON, router, the
# code @JSON generates, the forwarding headers), the latter built with swiftc -sanitize=fuzzer over the
# Chopin sources. swiftc cannot run the macro: fuzz_json_generated compiles its
# committed expansion, which a test in ChopinMacrosTests keeps current.
FUZZ_TARGETS := fuzz_parser fuzz_chunked fuzz_websocket fuzz_inflate fuzz_tls fuzz_json fuzz_router fuzz_json_generated fuzz_forwarded \
                fuzz_path_template
FUZZ_SWIFT_EXTRA_fuzz_json_generated := fuzz/swift/GeneratedModels.swift
# ChopinOpenAPI's path templates (the file needs nothing of swift-openapi-runtime).
FUZZ_SWIFT_EXTRA_fuzz_path_template := Sources/ChopinOpenAPI/PathTemplate.swift
# The fuzzers build with swiftc alone, without SwiftPM's packages: the files
# that import one (the server, logging, observability, tracing, the
# swift-http-types interop) are left out, and fuzz/swift/ServerShims.swift stands in for the
# two functions of theirs that the fuzzed code calls.
SWIFT_SRC    := $(shell find Sources/Chopin -name '*.swift' -not -path 'Sources/Chopin/HTTPTypes/*' \
                  -not -path 'Sources/Chopin/Observability/*' -not -path 'Sources/Chopin/Testing/*' \
                  -not -name Server.swift -not -name Log.swift -not -name RequestLogger.swift \
                  -not -name TracingMiddleware.swift) fuzz/swift/ServerShims.swift

TEST_UNITS := test_parse test_chunked test_write test_slab test_buf test_timer test_conn test_inflate test_tls_kernel test_tls_tickets
TEST_NET   := test_server test_conformance test_attacks test_lifecycle test_peer test_body_stream test_metrics test_files test_supervisor test_compress test_websocket test_tls test_tls_kernel_conn

QUICK ?= 0
PORT ?= 8080
WORKERS ?= 0
BACKEND ?= auto

.PHONY: test-scripts docs all run run-tls run-c example-otel openapi-generate bench bench-matrix bench-allocs bench-syscalls bench-instructions bench-idle bench-extras bench-tls format test test-c test-swift fuzz fuzz-smoke deps clean
all: $(BUILD)/libchopincore.a $(BUILD)/chopin-hello

$(BUILD)/rel/%.o: Sources/CChopinCore/%.c $(CORE_HDR)
	@mkdir -p $(dir $@); echo "  CC $@"; $(CC) $(CFLAGS_REL) -c $< -o $@
$(BUILD)/san/%.o: Sources/CChopinCore/%.c $(CORE_HDR)
	@mkdir -p $(dir $@); echo "  CC $@"; $(CC) $(CFLAGS_SAN) -c $< -o $@

$(BUILD)/rel $(BUILD)/san $(BUILD)/tests $(BUILD)/fuzz:
	mkdir -p $@

$(BUILD)/libchopincore.a: $(patsubst Sources/CChopinCore/%.c,$(BUILD)/rel/%.o,$(CORE_SRC))
	@rm -f $@ && ar rcs $@ $^
$(BUILD)/libchopincore-san.a: $(patsubst Sources/CChopinCore/%.c,$(BUILD)/san/%.o,$(CORE_SRC))
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/chopin-hello: Examples/chopin-hello/main.c $(BUILD)/libchopincore.a
	@echo "  CC $@"; $(CC) $(CFLAGS_REL) $< $(BUILD)/libchopincore.a $(LIBS) -o $@

$(BUILD)/tests/%: Tests/c/%.c $(wildcard Tests/c/support/*.h) $(BUILD)/libchopincore-san.a | $(BUILD)/tests
	@echo "  CC $@"; $(CC) $(CFLAGS_SAN) -ISources/CChopinCore -ITests/c/support $< $(BUILD)/libchopincore-san.a $(LIBS) -o $@

run:
	swift build -c release --product chopin-example
	.build/release/chopin-example --port $(PORT) --workers $(WORKERS) --backend $(BACKEND)

# The same over HTTPS on :8443 (TLS_PORT=), with plain HTTP on $(PORT) redirecting
# to it, under a self-signed certificate for localhost made here once
# (build/tls/, never committed): curl --cacert build/tls/cert.pem https://localhost:8443/json
TLS_PORT ?= 8443
run-tls: $(BUILD)/tls/cert.pem
	swift build -c release --product chopin-example
	.build/release/chopin-example --port $(TLS_PORT) --workers $(WORKERS) --backend $(BACKEND) \
	    --tls-cert $(BUILD)/tls/cert.pem --tls-key $(BUILD)/tls/key.pem --redirect-port $(PORT)
$(BUILD)/tls/cert.pem:
	@mkdir -p $(BUILD)/tls
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout $(BUILD)/tls/key.pem -out $@ 2>/dev/null

# chopin-example's OpenAPI server code, written again from its document
# (Examples/chopin-example/openapi.yaml) after a change; committed, not built
# by every build (see the script).
openapi-generate:
	bash scripts/openapi-generate.sh

# Chopin with swift-otel (Examples/tracing-otel, the DocC "Tracing"
# article's bootstrap): a package of its own, since swift-otel and its OTLP
# exporter take minutes to build; not part of `make test`.
example-otel:
	cd Examples/tracing-otel && swift build

run-c: $(BUILD)/chopin-hello
	$(BUILD)/chopin-hello --port $(PORT) --workers $(WORKERS) --backend $(BACKEND)

test-c: $(addprefix $(BUILD)/tests/,$(TEST_UNITS) $(TEST_NET)) $(BUILD)/chopin-hello
	@python3 scripts/check-floors.py $(BUILD)/rel
	@bash Tests/c/run.sh $(BUILD)/tests $(TEST_UNITS) $(TEST_NET) test_hello

test: test-swift fuzz-smoke test-c test-scripts

# Script tests: the example server checked by other programs' own parsers and
# clients (Python packages from PyPI in build/venv, scripts/pyenv.sh).
SCRIPT_TESTS := Tests/python/test_prometheus.py Tests/python/test_websocket.py Tests/python/test_openapi.py Tests/python/test_tls.py
# The deployment behind Debian's nginx (make deps installs it), in shell:
# under each supervised isolation (the default, and a process per worker).
SHELL_TESTS := Tests/scripts/nginx_deploy.sh
test-scripts:
	@swift build --product chopin-example >/dev/null
	@py=$$(bash scripts/pyenv.sh) && for t in $(SCRIPT_TESTS); do \
	    $$py $$t .build/debug/chopin-example || exit 1; done
	@for t in $(SHELL_TESTS); do for mode in shared-process process-per-worker; do \
	    echo "$$t, isolation $$mode:"; NGINX_DEPLOY_ISOLATION=$$mode bash $$t .build/debug/chopin-example || exit 1; done; done

# The Swift tests run against a private PostgreSQL server (scripts/pg.sh),
# started here and stopped whatever happens.
test-swift:
	@if ! command -v swift >/dev/null 2>&1; then \
	    echo "swift not found: the Swift tests need the Swift 6.3 toolchain (see README)"; exit 1; fi; \
	pg=$$(mktemp -d /tmp/chopin-pg.XXXXXX); \
	trap 'bash scripts/pg.sh stop '"$$pg" EXIT; \
	url=$$(bash scripts/pg.sh start "$$pg" $$((20000 + RANDOM % 20000))) || exit 1; \
	echo "PostgreSQL for the tests: $$url"; \
	swift build --build-tests && CHOPIN_TEST_DATABASE_URL=$$url swift test --skip-build

# The C fuzzers link the codecs alone (the HTTP floor and the scans below it).
FUZZ_C_CORE := Sources/CChopinCore/http/parse.c Sources/CChopinCore/base/scan.c Sources/CChopinCore/http/chunked.c \
               Sources/CChopinCore/http/websocket_codec.c Sources/CChopinCore/http/websocket_handshake.c \
               Sources/CChopinCore/http/inflate_body.c
# fuzz_tls: the TLS sessions and the buffers they write into.
$(BUILD)/fuzz/fuzz_tls: FUZZ_C_CORE += Sources/CChopinCore/base/tls_session.c Sources/CChopinCore/base/tls_context.c \
                                       Sources/CChopinCore/base/tls_kernel.c Sources/CChopinCore/base/logging.c \
                                       Sources/CChopinCore/base/buf.c
$(BUILD)/fuzz/%: fuzz/%.c $(CORE_SRC) $(CORE_HDR) | $(BUILD)/fuzz
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -Iinclude -ISources/CChopinCore -g -O1 \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $< $(FUZZ_C_CORE) -lz -lssl -lcrypto -o $@ \
	    2> $@.log || { cat $@.log; exit 1; }

$(BUILD)/fuzz/core/%.o: Sources/CChopinCore/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -Iinclude -g -O1 -fsanitize=fuzzer-no-link,address -c $< -o $@

$(BUILD)/fuzz/fuzz_json_generated: $(FUZZ_SWIFT_EXTRA_fuzz_json_generated)
$(BUILD)/fuzz/fuzz_path_template: $(FUZZ_SWIFT_EXTRA_fuzz_path_template)
$(BUILD)/fuzz/fuzz_json $(BUILD)/fuzz/fuzz_router $(BUILD)/fuzz/fuzz_json_generated $(BUILD)/fuzz/fuzz_forwarded \
        $(BUILD)/fuzz/fuzz_path_template: $(BUILD)/fuzz/%: fuzz/swift/%.swift $(SWIFT_SRC) \
        $(patsubst Sources/CChopinCore/%.c,$(BUILD)/fuzz/core/%.o,$(CORE_SRC))
	@echo "  SWIFTC $@"
	@$(SWIFTC) -sanitize=fuzzer,address -parse-as-library -swift-version 6 -O -module-name ChopinFuzz \
	    -I include -Xcc -D_GNU_SOURCE $(SWIFT_SRC) $< $(FUZZ_SWIFT_EXTRA_$*) \
	    $(patsubst Sources/CChopinCore/%.c,$(BUILD)/fuzz/core/%.o,$(CORE_SRC)) -l:liburing.a -lz -lssl -lcrypto -o $@ \
	    2> $@.log || { cat $@.log; exit 1; }

fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	    echo "== $$t for $(FUZZ_SECONDS)s"; \
	    $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        $(BUILD)/fuzz/corpus-$$t fuzz/corpus/$$t 2>&1 | grep -E "stat::number_of_executed_units|ERROR|SUMMARY|Done" ; \
	    test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$${FUZZ_SMOKE_SECONDS:-30}

bench:
	QUICK=$(QUICK) bash bench/run.sh all

# Chopin's per-request costs, one command each (bench-allocs fails unless 0).
bench-matrix bench-allocs bench-syscalls bench-instructions bench-idle bench-extras bench-tls:
	QUICK=$(QUICK) bash bench/run.sh $(patsubst bench-%,%,$@)

# Documentation through swift-docc-plugin. DocC's warnings (a broken symbol
# link, an unknown article, an undocumented parameter; not the compiler's)
# fail the target;
# scripts/doc-coverage.py then lists public symbols without a /// comment.
# SwiftPM's notice about a dependency's own files (swift-distributed-tracing
# ships CMakeLists.txt beside its sources): not a warning of Chopin's docs.
DEPENDENCY_NOTICE := file(s) which are unhandled; explicitly declare them as resources
docs:
	@mkdir -p $(BUILD)/docs
	@for t in Chopin ChopinJSON ChopinTesting ChopinOpenAPI; do \
	    swift package --allow-writing-to-directory $(BUILD)/docs/$$t generate-documentation --target $$t \
	        --output-path $(BUILD)/docs/$$t --warnings-as-errors \
	        > $(BUILD)/docs/$$t.log 2>&1; rc=$$?; \
	    grep -E "^(warning|error):" $(BUILD)/docs/$$t.log | grep -v "$(DEPENDENCY_NOTICE)"; \
	    if [ $$rc -ne 0 ] || grep -E "^(warning|error):" $(BUILD)/docs/$$t.log | grep -qv "$(DEPENDENCY_NOTICE)"; then \
	        tail -20 $(BUILD)/docs/$$t.log; echo "make docs: $$t has DocC warnings or errors"; exit 1; fi; \
	    python3 scripts/doc-coverage.py .build/*/extracted-symbols/*/$$t || exit 1; \
	done; echo "make docs: build/docs/Chopin, ChopinJSON, ChopinTesting and ChopinOpenAPI, no warnings"

# Style: .clang-format for C (Debian's clang-format), .swift-format for Swift
# (swift-format ships with the toolchain).
format:
	clang-format -i Sources/CChopinCore/*/*.c Sources/CChopinCore/*/*.h include/chopin/*.h Examples/chopin-hello/*.c \
	    Tests/c/*.c Tests/c/support/*.h fuzz/*.c Tests/CMallocCounter/*.c Tests/CMallocCounter/include/*.h
	swift-format format -r -i Sources Examples Tests fuzz/swift bench/peers/Sources bench/chopin-json-bench

deps:
	@bash scripts/deps.sh

clean:
	rm -rf $(BUILD)
