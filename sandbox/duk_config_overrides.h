/* wfp's Duktape configuration, inserted at the __OVERRIDE_DEFINES__ marker
 * of the duk_config.h that Debian's duktape-dev ships (see the Makefile).
 * Every change here changes the bytecode format: the build id covers it. */

/* CPU limits: the engine calls wfp_duk_exec_timeout_check() at every
 * interrupt; a true return throws an error that catch/finally can't keep. */
#define DUK_USE_INTERRUPT_COUNTER
#undef DUK_USE_EXEC_TIMEOUT_CHECK
#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) wfp_duk_exec_timeout_check(udata)
#if defined(__cplusplus)
extern "C++" duk_bool_t wfp_duk_exec_timeout_check(void *udata);
#endif

/* Compiled as C++ so destructors of host code run when JS errors unwind
 * through it; native functions must let duk_internal_exception pass. */
#define DUK_USE_CPP_EXCEPTIONS

/* Faster arithmetic on integers; measured by the notes as a cheap win. */
#define DUK_USE_FASTINT

/* Workers' clock: Date.now(), new Date() and performance.now() read the
 * time of the last I/O event the runner saw (host_clock_advance), so a
 * script cannot time itself (a Spectre mitigation, as on Workers). */
#define DUK_USE_DATE_GET_NOW(ctx) wfp_duk_date_now()
#define DUK_USE_GET_MONOTONIC_TIME(ctx) wfp_duk_date_now()
#if defined(__cplusplus)
extern "C++" double wfp_duk_date_now(void);
#endif
