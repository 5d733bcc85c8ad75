// Build tool: compiles JavaScript files with the project's Duktape build
// (build/duktape.o) and writes their bytecode, so a heap loads them without
// parsing. Runs at build time only; trusts its inputs (our shim and the npm
// packages pinned by js/package-lock.json).
//
// Usage: dump_bytecode OUT IN...
// OUT holds, for each IN in order, a 4-byte little-endian length and the
// duk_dump_function() output of IN compiled as a program. Bytecode is only
// valid for the exact engine build that wrote it, which the Makefile ensures
// by linking this tool with the same build/duktape.o as wfpd.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "duktape.h"

// The project's engine configuration calls this at every interrupt (see
// sandbox/duk_config_overrides.h); compiling has no deadline.
duk_bool_t wfp_duk_exec_timeout_check(void*) { return 0; }
double wfp_duk_date_now() { return 0; }  // no clock needed to dump bytecode

namespace {

void fatal(void*, const char* msg) {
  std::fprintf(stderr, "dump_bytecode: duktape fatal error: %s\n", msg ? msg : "(none)");
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: dump_bytecode OUT IN...\n");
    return 2;
  }
  duk_context* ctx = duk_create_heap(nullptr, nullptr, nullptr, nullptr, fatal);
  if (!ctx) {
    std::fprintf(stderr, "dump_bytecode: duk_create_heap failed\n");
    return 1;
  }
  std::string out;
  for (int i = 2; i < argc; i++) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "dump_bytecode: cannot read %s\n", argv[i]);
      return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string source = text.str();
    duk_push_string(ctx, argv[i]);
    if (duk_pcompile_lstring_filename(ctx, 0, source.data(), source.size()) != 0) {
      std::fprintf(stderr, "dump_bytecode: %s: %s\n", argv[i], duk_safe_to_string(ctx, -1));
      return 1;
    }
    duk_dump_function(ctx);
    duk_size_t n = 0;
    const char* p = (const char*)duk_get_buffer_data(ctx, -1, &n);
    for (int b = 0; b < 4; b++) out.push_back((char)((n >> (8 * b)) & 0xff));
    out.append(p, n);
    duk_pop(ctx);
  }
  duk_destroy_heap(ctx);
  // Written whole to a temporary name, then renamed: make never sees half a file.
  std::string tmp = std::string(argv[1]) + ".tmp";
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  f.write(out.data(), (std::streamsize)out.size());
  f.close();
  if (!f || std::rename(tmp.c_str(), argv[1]) != 0) {
    std::fprintf(stderr, "dump_bytecode: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
