/* Embeds the sandbox prelude files and the schema into the binary, so
 * wfpd needs no data files at run time. Each blob is NUL-terminated.
 * The prelude files are evaluated in the order of wfp_prelude_table
 * (sandbox/host.cc); runtime.js comes last because it removes __host. */
	.section .rodata
	.global wfp_polyfills_js
wfp_polyfills_js:
	.incbin "sandbox/polyfills.js"
	.byte 0
	.global wfp_url_js
wfp_url_js:
	.incbin "sandbox/url.js"
	.byte 0
	.global wfp_encoding_js
wfp_encoding_js:
	.incbin "sandbox/encoding.js"
	.byte 0
	.global wfp_crypto_js
wfp_crypto_js:
	.incbin "sandbox/crypto.js"
	.byte 0
	.global wfp_runtime_js
wfp_runtime_js:
	.incbin "sandbox/runtime.js"
	.byte 0
	.global wfp_schema_sql
wfp_schema_sql:
	.incbin "schema/001_init.sql"
	.byte 0
	.global wfp_schema_002_sql
wfp_schema_002_sql:
	.incbin "schema/002_lowering.sql"
	.byte 0
	.global wfp_schema_003_sql
wfp_schema_003_sql:
	.incbin "schema/003_outbound.sql"
	.byte 0
	.global wfp_schema_004_sql
wfp_schema_004_sql:
	.incbin "schema/004_checksums.sql"
	.byte 0
/* The lowering heap's JavaScript (sandbox/lowering_shim.js, core-js, Babel)
 * as Duktape bytecode made by tools/dump_bytecode at build time. Binary
 * (it holds NUL bytes): its length is wfp_lowering_bc_end - wfp_lowering_bc. */
	.balign 16
	.global wfp_lowering_bc
wfp_lowering_bc:
	.incbin "build/lowering.bc"
	.global wfp_lowering_bc_end
wfp_lowering_bc_end:
	.section .note.GNU-stack,"",@progbits
