// Lowering of modern worker source (ES2022, ES modules) to the ES5 that
// Duktape runs, with Babel running inside Duktape. Runs in the compiler
// child only (seccomp-locked, its own heap and limits); the source is
// hostile: any failure is a value, never a crash of the compiler.
#pragma once
#include <memory>
#include <string>

namespace wfp {

struct LowerResult {
  bool ok = false;
  // What Duktape compiles: the lowered ES5 (or the source itself when it
  // was already strictly ES5 and needed nothing).
  std::string code;
  // "commonjs" (ES modules are lowered to CommonJS: module.exports.default
  // holds the default export) or "service-worker".
  std::string format;
  // Original line of each line of `code`, as a JSON array (element i is
  // the original line of code line i + 1; 0 when unknown). Empty when the
  // code is the source itself.
  std::string line_map;
  bool lowered = false;  // false on the ES5 fast path
  // On failure: "FILE:LINE:COL: SyntaxError: message", with the original
  // line and column.
  std::string error;
};

class Lowerer {
 public:
  // Builds the lowering heap (core-js and Babel, from the bytecode made at
  // build time). Throws std::runtime_error if that fails.
  Lowerer();
  ~Lowerer();
  Lowerer(const Lowerer&) = delete;
  Lowerer& operator=(const Lowerer&) = delete;

  // `module_hint`: the upload said it is an ES module (main_module or
  // application/javascript+module); otherwise the source decides.
  LowerResult lower(const std::string& filename, const std::string& source, bool module_hint);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wfp
