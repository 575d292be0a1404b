# cronflux — build, test, bench, install.
#   make            build bin/*
#   make test       unit tests (plain and ASan+UBSan), lints, integration tests
#   make bench      performance figures as a table
#   make demo       run every job end to end on this machine
#   make demo-up    the demo's servers and stand-ins, left running (make demo-down stops them)
#   make install    PREFIX=/usr/local DESTDIR=

# The version, in one place: the VERSION file (make VERSION=x.y.z overrides it for one run).
VERSION  := $(strip $(file < VERSION))
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
BUILD    ?= build
BINDIR   ?= bin
PKGS     := oauth libcurl jansson sqlite3 zlib libdeflate liblz4
# Link order = the order of the binaries' DT_NEEDED = the dynamic loader's search order for
# every symbol of every library loaded (~12,000 lookups at each start). libcurl first puts
# its dependencies (libssl, libcrypto: ~4,000 lookups of their own symbols) and sqlite
# early in that order: ~0.5M fewer instructions to start a binary; same bindings.
LINK_PKGS := libcurl sqlite3 oauth jansson zlib libdeflate liblz4

CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Werror -Wformat=2 -Wno-format-nonliteral -fno-common
# pkg-config runs when a recipe first needs its answer (then once: the value is kept), not when
# make reads this file: `make demo` and `make test` install the packages first (deps), and a
# machine without them sees no pkg-config errors before that.
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(shell pkg-config --libs $(LINK_PKGS)))$(PKG_LIBS)
CPPFLAGS += -D_GNU_SOURCE -DCF_VERSION=\"$(VERSION)\" $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lm

# FUZZ=1 (with CC=clang): coverage for libFuzzer and the sanitizers, for `make fuzz`
ifeq ($(FUZZ),1)
CFLAGS   += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

ifeq ($(SAN),1)
CFLAGS   += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

RUNTIME_SRC := $(wildcard runtime/*.c)
STORE_SRC   := $(wildcard store/*.c)
JOB_DIRS    := $(patsubst %/main.c,%,$(wildcard jobs/*/main.c))
JOBLIB_SRC  := $(filter-out %/main.c,$(wildcard jobs/twitter/*.c jobs/cluster/*.c jobs/prometheus/*.c jobs/cronflux/*.c))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
BENCH_SRC   := $(wildcard bench/*.c)
FUZZ_SRC    := $(wildcard fuzz/fuzz_*.c)
FUZZ_NAMES  := $(patsubst fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIBRUNTIME := $(BUILD)/libcfruntime.a
LIBSTORE   := $(BUILD)/libcfstore.a
LIBJOBS    := $(BUILD)/libcfjobs.a
LIBS       := $(LIBJOBS) $(LIBSTORE) $(LIBRUNTIME)

# binary name of each job folder
name_twitter    := twitter-stats
name_cluster    := cluster-metrics
name_prometheus := prom-metrics
name_cronflux   := cronflux
BINS := $(foreach d,$(JOB_DIRS),$(BINDIR)/$(name_$(notdir $(d))))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
REPLAY_BINS := $(patsubst %,$(BUILD)/fuzz/replay_%,$(FUZZ_NAMES))
# the test and bench objects are made by a chain of pattern rules: without this make deletes
# them after linking, and every `make` compiles them again
.SECONDARY: $(call obj,$(UNIT_SRC) $(BENCH_SRC) $(FUZZ_SRC) fuzz/replay.c)

.PHONY: all bins deps demo-up demo-down test unit-test asan-test integration-test lint bench demo install \
        clean valgrind fuzz fuzz-bins fuzz-replay
.DEFAULT_GOAL := all

all: $(BINS) $(UNIT_BINS) $(BENCH_BINS) $(REPLAY_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBRUNTIME): $(call obj,$(RUNTIME_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBSTORE): $(call obj,$(STORE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBJOBS): $(call obj,$(JOBLIB_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^ $(if $^,,$(BUILD)/empty.o)

$(BUILD)/empty.o:
	@mkdir -p $(dir $@)
	printf 'typedef int cf_empty_unit;\n' | $(CC) -x c -c -o $@ -

$(LIBJOBS): | $(BUILD)/empty.o

define job_rule
$(BINDIR)/$(name_$(notdir $(1))): $(call obj,$(1)/main.c) $(LIBS)
	@mkdir -p $(BINDIR)
	$(CC) $$(LDFLAGS) -o $$@ $$< $(LIBS) $$(LDLIBS)
endef
$(foreach d,$(JOB_DIRS),$(eval $(call job_rule,$(d))))

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

# fuzz targets: replay_NAME (a plain main() over corpus files; any compiler) and, with
# FUZZ=1 CC=clang, fuzz_NAME (libFuzzer). See fuzz/README.md.
$(BUILD)/fuzz/replay_%: $(BUILD)/fuzz/fuzz_%.o $(BUILD)/fuzz/replay.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/fuzz/replay.o $(LIBS) $(LDLIBS)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/fuzz_%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBS) $(LDLIBS)

fuzz-bins: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))

# replay every committed corpus (fast; no new fuzzing): part of make test, plain and ASan
fuzz-replay: $(REPLAY_BINS)
	@fail=0; for n in $(FUZZ_NAMES); do $(BUILD)/fuzz/replay_$$n fuzz/corpus/$$n || fail=1; done; exit $$fail

# fuzz each target for FUZZ_SECONDS (FUZZ_TARGETS="lp_parse tparse" for some)
fuzz:
	$(MAKE) CC=clang FUZZ=1 BUILD=build/libfuzzer fuzz-bins
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(or $(FUZZ_TARGETS),$(FUZZ_NAMES))

unit-test: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

asan-test:
	$(MAKE) SAN=1 BUILD=build/asan BINDIR=build/asan/bin unit-test fuzz-replay

lint:
	tests/lint.sh
	tests/lint_selftest.sh

integration-test: $(BINS)
	tests/integration/run.sh

deps:
	@tests/deps.sh

# make test: the checks that only need the build run TEST_JOBS at a time (default 2, each
# one's output kept together), then the integration tests alone (they start servers and time
# them).
TEST_JOBS ?= 2
test: deps
	$(MAKE) all
	$(MAKE) -j$(TEST_JOBS) --output-sync=target checks
	$(MAKE) integration-test

checks: unit-test fuzz-replay asan-test valgrind lint
.PHONY: checks

valgrind: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	  valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=9 $$t >/dev/null || fail=1; \
	done; exit $$fail

bench: deps
	$(MAKE) all
	bench/run.sh

# the demo builds only the binaries it runs, quietly (a compiler error still shows)
bins: $(BINS)
demo: deps
	@echo "demo: building $(BINS)"
	@$(MAKE) -s --no-print-directory bins
	@tests/demo.sh
# the demo's servers and stand-ins, left running, and the environment to paste; demo-down stops them
demo-up: deps
	@echo "demo-up: building $(BINS)"
	@$(MAKE) -s --no-print-directory bins
	@tests/demo-up.sh
demo-down:
	@tests/demo-down.sh

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- image and deployment (docs/DEPLOY.md) -------------------------------------------------
# The image: make image [IMAGE=registry/name] [VERSION=x.y.z] [CONTAINER=docker|podman]
# builds IMAGE:VERSION with docker (when its daemon answers) or podman; make push pushes it;
# make image-tag writes IMAGE:VERSION into k8s/base/kustomization.yaml (the image the manifests and
# make backfill use); make version prints the version.
IMAGE ?= ghcr.io/cronflux/cronflux
image:
	@image/build.sh build "$(IMAGE)" "$(VERSION)"
push:
	@image/build.sh push "$(IMAGE)" "$(VERSION)"
image-tag:
	@image/build.sh tag-manifests "$(IMAGE)" "$(VERSION)"
version:
	@echo $(VERSION)

# The Secrets, from the filled copies secrets-templates/*.env, checked (docs/DEPLOY.md):
# make secrets [GENERATE=1] [DRY_RUN=1] [NAMESPACE=cronflux] [EXISTING_GRAFANA=its-namespace]
secrets:
	@secrets-templates/create.sh $(if $(filter 1,$(GENERATE)),--generate) $(if $(filter 1,$(DRY_RUN)),--dry-run) --namespace "$(or $(NAMESPACE),cronflux)" $(if $(EXISTING_GRAFANA),--existing-grafana "$(EXISTING_GRAFANA)")

# Render a backfill Job: make backfill JOB=prom-metrics FROM=-30d [TO=now] [SLICES=6] | kubectl apply -f -
backfill:
	@OPENSHIFT=$(OPENSHIFT) k8s/backfill/render.sh "$(JOB)" "$(FROM)" "$(or $(TO),now)" "$(or $(SLICES),1)" "$(or $(PARALLEL),2)"
.PHONY: backfill image push image-tag version secrets
