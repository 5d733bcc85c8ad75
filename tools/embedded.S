/* Embeds the sandbox runtime prelude and the schema into the binary, so
 * wfpd needs no data files at run time. Each blob is NUL-terminated. */
	.section .rodata
	.global wfp_runtime_js
wfp_runtime_js:
	.incbin "sandbox/runtime.js"
	.byte 0
	.global wfp_schema_sql
wfp_schema_sql:
	.incbin "schema/001_init.sql"
	.byte 0
	.section .note.GNU-stack,"",@progbits
