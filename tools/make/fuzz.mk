# --- fuzzing: libFuzzer targets for every parser of untrusted bytes ---------
# tests/fuzz/<name>_fuzz.cc, built with clang (Debian's clang-14 and its
# libFuzzer/sanitizer runtimes, in DEPS_PKGS) into $(BUILD)/fuzz/, from
# their own objects in $(BUILD)/fuzz/obj/ (the g++ objects are not
# instrumented). Each target links only the sources it needs.
#   make fuzz                 every target for FUZZ_SECONDS (60) each
#   make fuzz FUZZ_TARGETS=url FUZZ_SECONDS=600
#   make fuzz-smoke           the short run `make test` does (tools/run-tests)
# Seeds and kept crash inputs: tests/fuzz/corpus/<name>/; what a run finds
# goes to $(BUILD)/fuzz/corpus/<name>/ and crashes to
# $(BUILD)/fuzz/artifacts/<name>/, never into the tree (tests/fuzz/run-fuzz).
FUZZ_CXX      ?= clang++-14
FUZZ_SECONDS  ?= 60
FUZZ_SMOKE_SECONDS ?= 8
FUZZ_ALL      := $(patsubst tests/fuzz/%_fuzz.cc,%,$(wildcard tests/fuzz/*_fuzz.cc))
FUZZ_TARGETS  ?= $(FUZZ_ALL)
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CXXFLAGS := -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -std=c++20 -pthread \
                 -I. -I$(BUILD)/duk -DWFP_VERSION='"$(WFP_VERSION)"'
FUZZ_OBJ      := $(BUILD)/fuzz/obj
fuzz_obj = $(patsubst %.cc,$(FUZZ_OBJ)/%.o,$(1))

# What each target links besides its own tests/fuzz/<name>_fuzz.cc.
FUZZ_SRCS_config  := supervisor/config.cc supervisor/admin_auth.cc supervisor/netpolicy.cc \
                     supervisor/forwarded.cc ipc/log.cc
FUZZ_SRCS_url     := sandbox/url.cc sandbox/duk_text.cc
FUZZ_SRCS_admin   := supervisor/multipart.cc supervisor/json_body.cc
FUZZ_SRCS_wire    := ipc/messages.cc
FUZZ_SRCS_channel := ipc/channel.cc ipc/messages.cc ipc/log.cc
FUZZ_SRCS_http    := supervisor/http.cc ipc/log.cc
FUZZ_SRCS_headers := sandbox/host.cc sandbox/headers_natives.cc sandbox/url_natives.cc \
                     sandbox/url.cc \
                     sandbox/encoding_natives.cc sandbox/crypto_natives.cc sandbox/duk_text.cc \
                     ipc/log.cc ipc/errors.cc
FUZZ_EXTRA_headers := $(FUZZ_OBJ)/duktape.o $(BUILD)/embedded.o

FUZZ_BINS := $(foreach t,$(FUZZ_ALL),$(BUILD)/fuzz/$(t)_fuzz)

$(FUZZ_OBJ)/%.o: %.cc | $(BUILD)/duk/duk_config.h
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -MMD -MP -c $< -o $@
# Duktape itself: address checks only (its own code is not what is fuzzed,
# and UBSan would report its deliberate tricks).
$(FUZZ_OBJ)/duktape.o: $(BUILD)/duk/duk_config.h
	@mkdir -p $(@D)
	$(FUZZ_CXX) -O1 -g -fsanitize=address,fuzzer-no-link -std=c++20 -w -fno-strict-aliasing \
	  -x c++ -c $(BUILD)/duk/duktape.c -o $@

define fuzz_target
$(BUILD)/fuzz/$(1)_fuzz: $(call fuzz_obj,tests/fuzz/$(1)_fuzz.cc $(FUZZ_SRCS_$(1))) \
                         $(FUZZ_EXTRA_$(1))
	$$(FUZZ_CXX) $$(FUZZ_CXXFLAGS) -fsanitize=fuzzer $$^ -o $$@ $$(LDLIBS)
endef
$(foreach t,$(FUZZ_ALL),$(eval $(call fuzz_target,$(t))))

fuzz-build: $(FUZZ_BINS)
fuzz: deps $(FUZZ_BINS)
	@tests/fuzz/run-fuzz $(BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-smoke: deps $(FUZZ_BINS)
	@tests/fuzz/run-fuzz --smoke $(BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)
.PHONY: fuzz fuzz-smoke fuzz-build
# The long run belongs to `make check-all` (the Makefile).
