# parcelbot build. `make` builds ./parcelbot, `make test` runs the whole suite,
# `make asan` runs it again under AddressSanitizer and UBSan, `make valgrind`
# runs the unit tests under memcheck, `make lint` runs cppcheck and clang-tidy.
# Dependencies are Debian packages, installed on first use by
# scripts/install-deps.sh (set NO_DEPS=1 to skip that, e.g. when packaging).
# V=1 shows the commands.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
DATADIR   ?= $(PREFIX)/share/parcelbot
DESTDIR   ?=
CC        ?= cc
CFLAGS    ?= -O2 -g
BUILD     ?= build
VERSION   := $(shell cat VERSION)

# Library flags from pkg-config. The packages are installed before pkg-config
# is asked, so a fresh machine works with a bare `make`.
PKGS      := libcurl libcjson yaml-0.1 libpcre2-8 sqlite3 libmicrohttpd libcrypt libcrypto
TEST_PKGS := cmocka

ifeq ($(filter clean distclean help,$(MAKECMDGOALS)),)
ifeq ($(NO_DEPS)$(PB_DEPS_CHECKED),)
DEPS_STATUS := $(shell ./scripts/install-deps.sh >&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error scripts/install-deps.sh failed; see the messages above)
endif
export PB_DEPS_CHECKED := 1
endif
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS    := $(shell pkg-config --libs $(PKGS))
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS))
TEST_LIBS   := $(shell pkg-config --libs $(TEST_PKGS))
endif

WARN := -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wmissing-prototypes -Wvla \
	-Wwrite-strings -Wformat=2 -fno-common
ifdef DEVELOPER
WARN += -Werror
endif
ifdef SAN
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif

ALL_CPPFLAGS := -Iinclude -I$(BUILD)/gen -D_GNU_SOURCE $(CPPFLAGS)
ALL_CFLAGS   := -std=c11 $(WARN) $(SAN_FLAGS) -pthread $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS  := $(SAN_FLAGS) -pthread $(LDFLAGS)
LIBS_ALL     := $(PKG_LIBS) -lm $(LIBS)

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

LIB_SRCS  := $(filter-out src/main.c src/cmd_%.c,$(sort $(wildcard src/*.c)))
CLI_SRCS  := src/main.c $(sort $(wildcard src/cmd_*.c))
LIB_OBJS  := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/console_files.o
# The console's static files, embedded into the binary as C arrays.
CONSOLE_FILES := $(sort $(wildcard src/console/*.html src/console/*.js src/console/*.css))
CLI_OBJS  := $(CLI_SRCS:src/%.c=$(BUILD)/obj/%.o)
LIBA      := $(BUILD)/libparcelbot.a
BIN       := $(BUILD)/parcelbot

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TESTLIB_SRCS := $(filter-out $(UNIT_SRCS),$(sort $(wildcard tests/unit/*.c)))
TESTLIB_OBJS := $(TESTLIB_SRCS:tests/unit/%.c=$(BUILD)/tests/obj/%.o)

.PHONY: all demo test test-browser asan valgrind lint bench bench-build soak fuzz fuzz-build install uninstall clean help check-build
.DELETE_ON_ERROR:
# Test objects are intermediate files; keep them so reruns do not recompile.
.SECONDARY:

all: parcelbot

# The binary in the source tree is what README, the eval scorers and CI run.
parcelbot: $(BIN)
ifeq ($(BUILD),build)
	$(Q)cp -f $(BIN) $@
else
	@:
endif

$(BIN): $(CLI_OBJS) $(LIBA)
	$(call say,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(LIBA) $(LIBS_ALL)

$(LIBA): $(LIB_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/%.o: src/%.c $(BUILD)/gen/pb_build.h
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/console_files.c: scripts/embed.sh $(CONSOLE_FILES)
	$(call say,GEN,$@)
	@mkdir -p $(@D)
	$(Q)sh scripts/embed.sh $(CONSOLE_FILES) > $@.tmp && mv -f $@.tmp $@

$(BUILD)/obj/console_files.o: $(BUILD)/gen/console_files.c src/console_files.h
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CPPFLAGS) -Isrc $(ALL_CFLAGS) -c -o $@ $<

# Build facts the binary needs (version, where `make install` puts the KB).
# Rewritten only when they change, so a plain rebuild stays incremental.
$(BUILD)/gen/pb_build.h: FORCE
	@mkdir -p $(@D)
	@printf '#define PB_VERSION "%s"\n#define PB_KB_INSTALL_DIR "%s/kb"\n' \
		'$(VERSION)' '$(DATADIR)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@
FORCE:

$(BUILD)/tests/obj/%.o: tests/unit/%.c $(BUILD)/gen/pb_build.h
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(TEST_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/test_%: $(BUILD)/tests/obj/test_%.o $(TESTLIB_OBJS) $(LIBA)
	$(call say,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS_ALL)

check-build: $(BIN) $(UNIT_BINS)

test: all check-build
	@BUILD=$(BUILD) PARCELBOT=$(BIN) ./scripts/run-tests.sh

# Optional: the agent console in headless Chromium (Playwright). Needs
# `apt-get install chromium` and `npm install` under tests/browser; not part
# of `make test`.
test-browser: all
	@PARCELBOT=$(BIN) sh tests/browser/run.sh

# The sandbox shop and the daemon on loopback, the seeded conversations
# played and every draft shown. DEMO_ONCE=1 plays once and exits.
demo: all
	@PARCELBOT=$(BIN) python3 scripts/demo.py

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 CFLAGS='-O1 -g' test

# The unit test binaries under valgrind memcheck (scripts/valgrind.sh): any
# memcheck error or definite/indirect leak fails. Uses the normal build.
valgrind:
	@./scripts/install-deps.sh valgrind
	@$(MAKE) --no-print-directory check-build
	@BUILD=$(BUILD) PARCELBOT=$(BIN) ./scripts/valgrind.sh

# cppcheck and clang-tidy (.clang-tidy) over src/ and include/ with the real
# compile flags (scripts/lint.sh); any finding fails. Needs the generated
# header, not a build.
lint: $(BUILD)/gen/pb_build.h
	@./scripts/install-deps.sh cppcheck clang-tidy
	@BUILD=$(BUILD) LINT_CFLAGS='$(ALL_CPPFLAGS) $(ALL_CFLAGS)' ./scripts/lint.sh

# Benchmarks print figures and assert nothing. Vectorscan is a bench-only
# dependency, installed here rather than by a plain build.
BENCH_SRCS := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)
BENCH_LIB  := $(filter-out $(BENCH_SRCS),$(sort $(wildcard tests/bench/*.c)))

bench: all
	@./scripts/install-deps.sh libvectorscan-dev
	@$(MAKE) --no-print-directory bench-build
	@BUILD=$(BUILD) PARCELBOT=$(BIN) ./scripts/bench.sh

bench-build: $(BENCH_BINS)

# The daemon for 30 minutes against the sandbox at a steady load; prints
# RSS, descriptors and throughput over time and fails if they grow.
# SOAK_SECONDS, SOAK_RATE, SOAK_CONVERSATIONS, SOAK_SAMPLE: see scripts/soak.py.
soak: all
	@PARCELBOT=$(BIN) python3 scripts/soak.py

$(BUILD)/bench/%: tests/bench/%.c $(BENCH_LIB) $(LIBA)
	$(call say,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/bench $(ALL_CFLAGS) $$(pkg-config --cflags libhs) \
		$(ALL_LDFLAGS) -o $@ $< $(BENCH_LIB) $(LIBA) $$(pkg-config --libs libhs) $(LIBS_ALL)

# libFuzzer targets (clang), with ASan and UBSan:
#   make fuzz FUZZ_SECONDS=600 FUZZ_JOBS=2 [FUZZ_TARGETS='k100 t17']
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
FUZZ_CFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -g -O1

fuzz:
	@./scripts/install-deps.sh clang
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
		CFLAGS='$(FUZZ_CFLAGS)' LDFLAGS='-fsanitize=address,undefined' fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) ./scripts/fuzz.sh

fuzz-build: $(LIBA) $(FUZZ_BINS)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIBA)
	$(call say,LINK,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBA) $(LIBS_ALL)

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/kb
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/parcelbot
	cd kb && find . -type d -exec install -d $(DESTDIR)$(DATADIR)/kb/{} \;
	cd kb && find . -type f -name '*.yaml' -exec install -m 644 {} $(DESTDIR)$(DATADIR)/kb/{} \;

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/parcelbot
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build build-asan build-fuzz parcelbot

help:
	@echo 'targets: all test asan valgrind lint bench soak fuzz install uninstall clean'
	@echo 'variables: PREFIX DESTDIR CC CFLAGS CPPFLAGS LDFLAGS DEVELOPER=1 V=1 NO_DEPS=1'

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(BUILD)/tests/obj/*.d
