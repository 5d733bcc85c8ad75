# `make soak`: tools/soak against a fresh build: wfpd under wrk with a mix
# of hosts (hello, the Cache API, fetch() from a local origin) while
# scripts are redeployed and random children killed, for SOAK_SECONDS
# (default 600). Reports requests served, errors by cause and the
# supervisor's RSS; fails on an error a kill does not explain, or on RSS
# growth. Part of `make check-all`, never of `make test`.
SOAK_SECONDS ?= 600

.PHONY: soak
soak: all
	SOAK_SECONDS=$(SOAK_SECONDS) tools/soak $(BUILD)
