# `make asan`: every binary of `make test` built with AddressSanitizer and
# UBSan into build-asan/, then the whole suite (tools/run-tests) run against
# that build. A sanitizer report from any process (a test binary, wfpd, a
# locked child, wfpctl) fails the run. Slow (the build alone takes tens of
# minutes on two cores): part of `make check-all`, never of `make test`.
#
# -DWFP_SANITIZE tells the code it runs under the sanitizers
# (WFP_SANITIZER_BUILD, sandbox/seccomp_policy.h): no RLIMIT_AS in locked
# children (ASan reserves terabytes of shadow), no LeakSanitizer in locked
# processes (its checker needs ptrace), and seccomp's default action is the
# debug trap, which names the forbidden call before dying of SIGSYS.
#
# Duktape itself (build-asan/duktape.o) is compiled as in the release
# build, uninstrumented: it is Debian's code, not ours, and instrumenting it
# would slow every interpreted line several times over. Its heap is
# allocated through sandbox/host.cc with malloc, which ASan intercepts, so
# an overrun by our code of a buffer Duktape handed out is still caught.
ASAN_BUILD    := build-asan
ASAN_CXXFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                 -fno-sanitize-recover=all -DWFP_SANITIZE
ASAN_TARGETS  := wfpd wfpctl wfpd-test unit_tests integration_tests security_tests \
                 conformance_runner .npm-ok
# Every report goes to a file of its own, REPORTS/asan.PID (the locked
# processes share their zygote's), so that a report from a daemon a test
# has since removed, with its log, is still counted. The directory is
# world-writable: wfpd runs as the service user.
ASAN_REPORTS  := $(ASAN_BUILD)/reports
ASAN_COMMON   := halt_on_error=1:print_stacktrace=1:log_path=$(abspath $(ASAN_REPORTS))/asan
# handle_segv=0: some crashes are deliberate (the int 0x80 probe of
# tests/unit/seccomp_test.cc, the attack suite's crash hooks) and must die of
# their signal as the tests expect; ASan's own checks do not need the handler.
ASAN_ENV      := ASAN_OPTIONS=$(ASAN_COMMON):detect_leaks=1:strict_init_order=1:abort_on_error=0:handle_segv=0 \
                 UBSAN_OPTIONS=$(ASAN_COMMON) \
                 LSAN_OPTIONS=$(ASAN_COMMON)
ASAN_REPORT_RE := ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:|^SUMMARY: |ERROR: Can.t open file

# The sub-make gets its flags through the environment, not its command line:
# a command-line CXXFLAGS would replace the Makefile's `+=` (-std, -I)
# instead of adding to it. tools/embedded.S embeds build/lowering.bc by that
# name, so the release one is made first (the bytecode depends only on the
# engine's source and configuration, which both builds share). js/node_modules
# is shared too: the release's npm stamp stands for both, rather than
# `npm ci` emptying js/node_modules again under everybody's feet.
#
# The last line counts as failures the tests' failures plus each process
# that wrote a sanitizer report, which are listed above it.
asan: deps build/lowering.bc
	@mkdir -p $(ASAN_BUILD)
	@[ $(ASAN_BUILD)/.npm-ok -nt js/package-lock.json ] || cp -p build/.npm-ok $(ASAN_BUILD)/.npm-ok
	CXXFLAGS='$(ASAN_CXXFLAGS)' $(MAKE) BUILD=$(ASAN_BUILD) $(addprefix $(ASAN_BUILD)/,$(ASAN_TARGETS))
	@rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS) && chmod 1777 $(ASAN_REPORTS)
	@$(ASAN_ENV) tools/run-tests $(ASAN_BUILD) 2>&1 | tee $(ASAN_BUILD)/tests.log; \
	line=$$(grep -aE '^[0-9]+ passed, [0-9]+ failed$$' $(ASAN_BUILD)/tests.log | tail -1); \
	passed=$$(echo "$$line" | awk '{print $$1}'); failed=$$(echo "$$line" | awk '{print $$3}'); \
	passed=$${passed:-0}; failed=$${failed:-1}; \
	find $(ASAN_REPORTS) -type f -empty -delete; \
	reports=$$(grep -laE '$(ASAN_REPORT_RE)' $(ASAN_REPORTS)/* 2>/dev/null); \
	n=$$(printf '%s' "$$reports" | grep -c .); \
	echo "=== sanitizer reports: $$n (in $(ASAN_REPORTS)/)"; \
	for r in $$reports; do echo "--- $$r"; grep -aE '$(ASAN_REPORT_RE)' "$$r" | head -20; done; \
	echo "$$passed passed, $$((failed + n)) failed"; \
	[ "$$((failed + n))" = 0 ]

.PHONY: asan
