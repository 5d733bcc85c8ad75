# wfp — build, test, run and install.  `make run` and `make test` are the
# two commands a new machine needs; both run `make deps` first.
CXX      ?= g++
CXXFLAGS ?= -O2 -g
WFP_VERSION := 0.1.0
CXXFLAGS += -DWFP_VERSION='"$(WFP_VERSION)"' -std=c++20 -Wall -Wextra -Werror=return-type -pthread -I. -I$(BUILD)/duk
LDLIBS   := -levent_core -levent_extra -lseccomp -lsqlite3 -levent_openssl -lhttp_parser -lbsd -lidn2 -lssl -lcrypto -lsystemd -lrt -pthread
BUILD    := build
PREFIX   ?= /usr/local
DEPS_PKGS := duktape-dev libevent-dev libseccomp-dev libsqlite3-dev libboost-dev \
             googletest libgtest-dev libhttp-parser-dev nlohmann-json3-dev libbsd-dev \
             libsystemd-dev libidn2-dev libssl-dev mandoc pkg-config g++ make curl procps wrk \
             clang-14 libclang-rt-14-dev

# Sources: every .cc of a directory belongs to its role; the mains are split out.
IPC_SRCS     := $(wildcard ipc/*.cc)
# sandbox/test_hooks.cc is only ever part of build/wfpd-test (below).
SANDBOX_SRCS := $(filter-out sandbox/test_hooks.cc,$(wildcard sandbox/*.cc))
SUP_SRCS     := $(filter-out supervisor/wfpd_main.cc supervisor/wfpctl%.cc,$(wildcard supervisor/*.cc))
CTL_SRCS     := $(wildcard supervisor/wfpctl*.cc) supervisor/names.cc ipc/log.cc
UNIT_SRCS    := $(wildcard tests/unit/*.cc)
INTEG_SRCS   := $(wildcard tests/integration/*.cc)
SUPPORT_SRCS := $(wildcard tests/support/*.cc)
SECURITY_SRCS := $(wildcard tests/security/*.cc)

obj = $(patsubst %.cc,$(BUILD)/%.o,$(1))
CORE_OBJS := $(call obj,$(IPC_SRCS) $(SANDBOX_SRCS) $(SUP_SRCS)) $(BUILD)/duktape.o $(BUILD)/embedded.o

all: $(BUILD)/wfpd $(BUILD)/wfpctl

# --- dependencies a fresh Debian 12 machine lacks -------------------------
deps: $(BUILD)/.deps-ok
$(BUILD)/.deps-ok:
	@missing=""; for p in $(DEPS_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@# npm comes with some Node.js builds and separately with Debian's: ask
	@# for Debian's only when there is none, so an existing Node stays.
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "make deps: installing nodejs npm"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; fi
	@if [ "$$(id -u)" = 0 ] && ! getent passwd wfp >/dev/null; then \
	  echo "make deps: creating service user wfp"; \
	  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin wfp; fi
	@mkdir -p $(BUILD) && touch $@

# --- Duktape, built from the source Debian ships with our configuration ---
$(BUILD)/duk/duk_config.h: sandbox/duk_config_overrides.h | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	sed -e '/__OVERRIDE_DEFINES__/r sandbox/duk_config_overrides.h' /usr/share/duktape/duk_config.h > $@
	cp /usr/share/duktape/duktape.h /usr/share/duktape/duktape.c $(@D)/
# Compiled from the copy beside our duk_config.h: duktape.c includes
# "duk_config.h" from its own directory first.
$(BUILD)/duktape.o: $(BUILD)/duk/duk_config.h
	$(CXX) -O2 -g -std=c++20 -w -fno-strict-aliasing -x c++ -c $(BUILD)/duk/duktape.c -o $@

# --- embedded JavaScript and SQL --------------------------------------------
$(BUILD)/embedded.o: tools/embedded.S $(wildcard sandbox/*.js) $(wildcard schema/*.sql)
	@mkdir -p $(@D)
	$(CXX) -c tools/embedded.S -o $@

# --- lowering: Babel and core-js for the compiler child, as bytecode -------
# The npm packages are pinned by js/package-lock.json and installed here,
# never copied into the tree. --ignore-scripts: nothing we use needs an
# install script, and none should run on the build machine (often as root).
$(BUILD)/.npm-ok: js/package-lock.json js/package.json | $(BUILD)/.deps-ok
	cd js && npm ci --no-audit --no-fund --ignore-scripts
	@mkdir -p $(@D) && touch $@
# Babel takes seconds to parse in Duktape, so it is compiled here once and
# embedded in wfpd as bytecode (tools/embedded.S). Bytecode only loads into
# the engine build that wrote it: the tool links the same build/duktape.o.
LOWERING_JS := sandbox/lowering_shim.js js/node_modules/core-js-bundle/minified.js \
               js/node_modules/@babel/standalone/babel.min.js
$(BUILD)/tools/dump_bytecode: $(BUILD)/tools/dump_bytecode.o $(BUILD)/duktape.o
	$(CXX) $(CXXFLAGS) $^ -o $@
$(BUILD)/lowering.bc: $(BUILD)/tools/dump_bytecode sandbox/lowering_shim.js $(BUILD)/.npm-ok
	$(BUILD)/tools/dump_bytecode $@ $(LOWERING_JS)
$(BUILD)/embedded.o: $(BUILD)/lowering.bc

# Bytecode is loaded only by the build that made it: the id covers the
# engine source, our engine configuration and the compiler.
BUILD_ID := $(shell (cat /usr/share/duktape/duktape.c sandbox/duk_config_overrides.h; $(CXX) --version) 2>/dev/null | sha256sum | cut -c1-16)
$(BUILD)/sandbox/host.o: CXXFLAGS += -DWFP_BUILD_ID='"$(BUILD_ID)"'

$(BUILD)/%.o: %.cc | $(BUILD)/duk/duk_config.h
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/wfpd: $(CORE_OBJS) $(BUILD)/supervisor/wfpd_main.o
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
$(BUILD)/wfpctl: $(call obj,$(CTL_SRCS))
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
$(BUILD)/unit_tests: $(CORE_OBJS) $(call obj,$(UNIT_SRCS) $(SUPPORT_SRCS))
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS) -lgtest -lgtest_main
$(BUILD)/integration_tests: $(call obj,$(INTEG_SRCS) $(SUPPORT_SRCS)) $(BUILD)/supervisor/names.o $(BUILD)/ipc/log.o
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS) -lgtest -lgtest_main

# --- the test build: wfpd with test hooks, for the attack suite -------------
# build/wfpd-test is build/wfpd plus sandbox/test_hooks.cc (the global
# __wfp_test: raw syscalls, crashes, crafted frames). Only the files with a
# hook compile differently (-DWFP_TEST_HOOKS, into build/hooks/); every
# other object is the release one. The release binary never links a hook.
HOOKED_SRCS := sandbox/host.cc sandbox/runner.cc ipc/channel.cc supervisor/daemon_cache.cc
HOOKED_OBJS := $(patsubst %.cc,$(BUILD)/hooks/%.o,$(HOOKED_SRCS) sandbox/test_hooks.cc)
TEST_BUILD_OBJS := $(filter-out $(call obj,$(HOOKED_SRCS)),$(CORE_OBJS)) $(HOOKED_OBJS)
$(BUILD)/hooks/%.o: %.cc | $(BUILD)/duk/duk_config.h
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -DWFP_TEST_HOOKS -MMD -MP -c $< -o $@
$(BUILD)/hooks/sandbox/host.o: CXXFLAGS += -DWFP_BUILD_ID='"$(BUILD_ID)"'
$(BUILD)/wfpd-test: $(TEST_BUILD_OBJS) $(BUILD)/supervisor/wfpd_main.o
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
# The attack suite (tests/security) runs hostile workers in wfpd-test and
# checks the release wfpd has no hooks; like integration_tests, it drives
# real daemons and links none of their code.
$(BUILD)/security_tests: $(call obj,$(SECURITY_SRCS) tests/integration/wfpd_fixture.cc $(SUPPORT_SRCS)) \
                         $(BUILD)/supervisor/names.o $(BUILD)/ipc/log.o
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS) -lgtest -lgtest_main

# --- conformance: WPT data and Promises/A+ run inside the engine ------------
# tests/conformance/runner.cc runs every tests/conformance/*.js suite in a
# WorkerHeap; the Promises/A+ suite comes from npm (js/, $(BUILD)/.npm-ok).
# `make test` runs it too (tools/run-tests), hence the extra prerequisites.
$(BUILD)/conformance_runner: $(CORE_OBJS) $(BUILD)/tests/conformance/runner.o
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
conformance: deps $(BUILD)/conformance_runner $(BUILD)/.npm-ok
	@$(BUILD)/conformance_runner
test: $(BUILD)/conformance_runner $(BUILD)/.npm-ok
.PHONY: conformance

# --- bench: figures only, never asserted ------------------------------------
# tools/api_bench.cc: µs per hot API call inside Duktape; tools/bench-deploy:
# deploy and first-request times through a real wfpd. Both end up in
# $(BUILD)/bench.json. tools/bench-http: requests/s, latency, CPU and memory
# of wfp against tools/static_hello.cc, the evhttp ceiling
# ($(BUILD)/bench-http.json). `make bench PEER=workerd` adds the same
# scenarios on workerd, installed from npm into $(BUILD)/peer
# (tools/bench-peer-workerd, $(BUILD)/bench-peer.json).
$(BUILD)/api_bench: $(CORE_OBJS) $(BUILD)/tools/api_bench.o
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
$(BUILD)/tools/static_hello: $(BUILD)/tools/static_hello.o
	$(CXX) $(CXXFLAGS) $^ -o $@ -levent
bench: deps all $(BUILD)/api_bench $(BUILD)/tools/static_hello
	@$(BUILD)/api_bench --json $(BUILD)/bench-api.json
	@tools/bench-deploy $(BUILD)
	@tools/bench-cache $(BUILD)
	@if [ "$(PEER)" = workerd ]; then tools/bench-peer-workerd $(BUILD); fi
	@BENCH_PEER_JSON=$(if $(filter workerd,$(PEER)),$(BUILD)/bench-peer.json) tools/bench-http $(BUILD)

# --- the two commands -------------------------------------------------------
test: deps all $(BUILD)/unit_tests $(BUILD)/integration_tests $(BUILD)/wfpd-test $(BUILD)/security_tests fuzz-build
	@tools/run-tests $(BUILD)

run: deps all
	@tools/run-demo $(BUILD)

lint-man:
	mandoc -Tlint -W style man/*.[0-9]

# --- install ------------------------------------------------------------------
# FHS places under PREFIX (/usr/local by default; a package uses
# PREFIX=/usr), all below DESTDIR when given (a staging tree: nothing is
# then done to the running system). /etc/wfp/wfpd.conf is always in /etc,
# where wfpd looks for it, and an existing one is never replaced. The
# unit and tmpfiles.d entry go where systemd looks: for PREFIX=/usr, the
# directories systemd's pkg-config file names (/lib/systemd/system and
# /usr/lib/tmpfiles.d on Debian 12); otherwise under PREFIX/lib, which
# systemd searches for /usr/local (for another PREFIX, set UNITDIR and
# TMPFILESDIR to /etc/systemd/system and /etc/tmpfiles.d). The runtime's
# JavaScript is built into wfpd; the copies in share/wfp/runtime are for
# reading, hence read-only.
SBINDIR      = $(PREFIX)/sbin
BINDIR       = $(PREFIX)/bin
MANDIR       = $(PREFIX)/share/man
DATADIR      = $(PREFIX)/share/wfp
systemd_dir  = $(if $(filter /usr,$(PREFIX)),$(or $(shell pkg-config --variable=$(1) systemd 2>/dev/null),$(2)),$(PREFIX)/lib/$(3))
UNITDIR      = $(call systemd_dir,systemdsystemunitdir,/lib/systemd/system,systemd/system)
TMPFILESDIR  = $(call systemd_dir,tmpfilesdir,/usr/lib/tmpfiles.d,tmpfiles.d)
RUNTIME_JS  := $(wildcard sandbox/*.js)
EXAMPLES_JS := $(wildcard tools/demo/*.js)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR)/runtime $(DESTDIR)$(DATADIR)/examples \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)/etc/wfp
	install -m 0755 $(BUILD)/wfpd $(DESTDIR)$(SBINDIR)/wfpd
	install -m 0755 $(BUILD)/wfpctl $(DESTDIR)$(BINDIR)/wfpctl
	install -m 0644 man/wfpd.8 man/wfpctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/wfpd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/wfp-runtime.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 0444 $(RUNTIME_JS) $(DESTDIR)$(DATADIR)/runtime/
	install -m 0644 $(EXAMPLES_JS) $(DESTDIR)$(DATADIR)/examples/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' dist/wfpd.service > $(DESTDIR)$(UNITDIR)/wfpd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/wfpd.service
	install -m 0644 dist/wfp-tmpfiles.conf $(DESTDIR)$(TMPFILESDIR)/wfp.conf
	[ -e $(DESTDIR)/etc/wfp/wfpd.conf ] || install -m 0644 tools/wfpd.conf $(DESTDIR)/etc/wfp/wfpd.conf
	@# On the running system (no DESTDIR) as root: the service user, the
	@# store's directory (as tmpfiles.d would make it at boot), and systemd
	@# told about the unit if systemd is running.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	  if ! getent passwd wfp >/dev/null; then \
	    echo "useradd --system --user-group wfp"; \
	    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin wfp; fi; \
	  install -d -m 0750 -o wfp -g wfp /var/lib/wfp; \
	  if [ -d /run/systemd/system ]; then echo "systemctl daemon-reload"; systemctl daemon-reload; fi; \
	fi

# Removes what install put in place, except the configuration, the store
# (/var/lib/wfp) and the service user, which are the operator's.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/wfpd $(DESTDIR)$(BINDIR)/wfpctl \
	  $(DESTDIR)$(MANDIR)/man8/wfpd.8 $(DESTDIR)$(MANDIR)/man8/wfpctl.8 \
	  $(DESTDIR)$(MANDIR)/man5/wfpd.conf.5 $(DESTDIR)$(MANDIR)/man7/wfp-runtime.7 \
	  $(DESTDIR)$(UNITDIR)/wfpd.service $(DESTDIR)$(TMPFILESDIR)/wfp.conf
	rm -rf $(DESTDIR)$(DATADIR)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && [ -d /run/systemd/system ]; then \
	  echo "systemctl daemon-reload"; systemctl daemon-reload; fi
.PHONY: uninstall

clean:
	rm -rf $(BUILD)

# The long tiers and their helpers (fuzzing, soak, sanitizer builds), one
# fragment each.
include $(wildcard tools/make/*.mk)

# `make check-all`: what CI's `make test` leaves out for time. The suite
# again with the long variants (WFP_LONG_TESTS=1: 2,000 power-loss crash
# points, 100 kill -9 runs of wfpd during deploys, a store locked past the
# busy timeout), then every fuzz target for FUZZ_SECONDS, the soak for
# SOAK_SECONDS, and the suite under ASan and UBSan. Hours, not minutes.
check-all: deps all $(BUILD)/unit_tests $(BUILD)/integration_tests $(BUILD)/wfpd-test \
           $(BUILD)/security_tests fuzz-build
	WFP_LONG_TESTS=1 tools/run-tests $(BUILD)
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory soak
	$(MAKE) --no-print-directory asan

.PHONY: all deps test run bench install clean lint-man check-all
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
