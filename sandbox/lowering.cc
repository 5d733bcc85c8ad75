// Lowering of modern worker source to ES5 (see lowering.h): a C++ scan and
// a Duktape compile decide the ES5 fast path; everything else goes through
// Babel in a heap of its own. Runs in the compiler child; the source is
// hostile and is only ever parsed here, never run: every failure is a value.
#include "sandbox/lowering.h"

#include <cstdint>
#include <cstdlib>
#include <malloc.h>
#include <stdexcept>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "duktape.h"
#include "ipc/log.h"
#include "sandbox/seccomp_policy.h"

#ifdef WFP_SANITIZER_BUILD
// The sanitizer runtime's (clang's sanitizer/allocator_interface.h; GCC
// installs no header for it).
extern "C" size_t __sanitizer_get_current_allocated_bytes(void);
#endif

// build/lowering.bc, embedded by tools/embedded.S: for each of the shim,
// core-js and Babel, a 4-byte little-endian length and its bytecode.
extern "C" const unsigned char wfp_lowering_bc[], wfp_lowering_bc_end[];

namespace wfp {

struct Lowerer::Impl {
  duk_context* ctx = nullptr;   // null between a discard and the next lower()
  size_t malloc_after_load = 0;  // the process's malloc in use once loaded
  void load();
  void discard();
};

namespace {

// ---------------------------------------------------------------------------
// The scan: a tokenizer just good enough to see which words are code. It
// skips strings, comments, template literals and regular expression
// literals (telling a regex from a division by the token before it, as
// parsers do), so `const` inside a string doesn't count and `const` in code
// always does. When it has to guess, it guesses towards "not ES5": the cost
// of a wrong guess is a Babel run, never wrong semantics.

struct SourceScan {
  bool has_const = false;          // a `const` declaration (var semantics in Duktape)
  bool has_module_syntax = false;  // import / export
  bool has_escape = false;         // `\` in code: an escaped identifier could hide a keyword
  bool uses_exports = false;       // module.exports or exports.x / exports[x]
  bool uses_add_event_listener = false;
};

enum class Tok { none, ident, number, string, punct };

struct Token {
  Tok kind = Tok::none;
  std::string_view text;
};

bool is_ident_char(unsigned char c) {
  // Bytes >= 0x80 end a word: a Unicode space (NBSP…) after `const` must
  // not glue it to the next word; a Unicode letter inside a name merely
  // splits it, which can only make the scan more cautious.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$';
}

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Keywords after which an expression starts, so a `/` begins a regex.
bool keyword_before_expression(std::string_view w) {
  static constexpr std::string_view words[] = {"return", "typeof", "instanceof", "in",    "of",
                                               "new",    "delete", "void",       "throw", "case",
                                               "do",     "else",   "yield",      "await", "extends"};
  for (auto k : words)
    if (w == k) return true;
  return false;
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  SourceScan run() {
    while (skip_space_and_comments()) {
      unsigned char c = (unsigned char)s_[i_];
      if (c == '}' && !braces_.empty() && braces_.back() == Brace::template_expr) {
        braces_.pop_back();
        i_++;
        template_rest();
        continue;
      }
      if (is_ident_char(c) && !(c >= '0' && c <= '9')) {
        word();
      } else if ((c >= '0' && c <= '9') || (c == '.' && i_ + 1 < s_.size() && s_[i_ + 1] >= '0' && s_[i_ + 1] <= '9')) {
        number();
      } else if (c == '"' || c == '\'') {
        string_literal(c);
      } else if (c == '`') {
        i_++;
        template_rest();
      } else if (c == '/' && regex_allowed()) {
        regex_literal();
      } else if (c >= 0x80) {
        i_++;  // Unicode space or letter: a separator for our purpose
      } else {
        punct();
      }
    }
    return out_;
  }

 private:
  enum class Brace { block, object, template_expr };
  enum class Paren { plain, condition };

  // Returns false at the end of the source.
  bool skip_space_and_comments() {
    while (i_ < s_.size()) {
      unsigned char c = (unsigned char)s_[i_];
      if (is_space(c)) {
        i_++;
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '/') {
        while (i_ < s_.size() && s_[i_] != '\n' && s_[i_] != '\r') i_++;
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') {
        size_t end = s_.find("*/", i_ + 2);
        i_ = end == std::string_view::npos ? s_.size() : end + 2;
      } else {
        return true;
      }
    }
    return false;
  }

  char next_significant() {
    size_t save = i_;
    char c = skip_space_and_comments() ? s_[i_] : '\0';
    i_ = save;
    return c;
  }

  void push(Tok kind, size_t start) {
    prev2_ = prev_;
    prev_ = Token{kind, s_.substr(start, i_ - start)};
  }

  bool prev_is(Tok kind, std::string_view text) const { return prev_.kind == kind && prev_.text == text; }

  void word() {
    size_t start = i_;
    while (i_ < s_.size() && is_ident_char((unsigned char)s_[i_])) i_++;
    std::string_view w = s_.substr(start, i_ - start);
    // A word after `.` is a property name (ES5 allows reserved words
    // there); before `:` it is an object key.
    bool property = prev_is(Tok::punct, ".") || prev_is(Tok::punct, "?.");
    char next = next_significant();
    if (!property && next != ':') {
      if (w == "const") out_.has_const = true;
      if (w == "import" || w == "export") out_.has_module_syntax = true;
    }
    if (w == "exports") {
      if (property && prev2_.kind == Tok::ident && prev2_.text == "module") out_.uses_exports = true;
      if (!property && (next == '.' || next == '[')) out_.uses_exports = true;
    }
    // A call of the global addEventListener, not e.g. an AbortSignal's,
    // nor a function or key of that name.
    if (w == "addEventListener" && next == '(' && !prev_is(Tok::ident, "function")) {
      if (!property) out_.uses_add_event_listener = true;
      else if (prev2_.kind == Tok::ident &&
               (prev2_.text == "self" || prev2_.text == "globalThis" || prev2_.text == "this"))
        out_.uses_add_event_listener = true;
    }
    push(Tok::ident, start);
  }

  void number() {
    size_t start = i_;
    while (i_ < s_.size() && (is_ident_char((unsigned char)s_[i_]) || s_[i_] == '.')) i_++;
    push(Tok::number, start);
  }

  void string_literal(char quote) {
    size_t start = i_++;
    while (i_ < s_.size() && s_[i_] != quote) {
      if (s_[i_] == '\\') i_++;
      else if (s_[i_] == '\n') break;  // unterminated: the compiler will say so
      i_++;
    }
    if (i_ < s_.size()) i_++;
    push(Tok::string, start);
  }

  // After "`" or after the "}" that closes a "${": up to the closing
  // backtick, or into the next substitution.
  void template_rest() {
    size_t start = i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\\') {
        i_ += 2;
      } else if (c == '`') {
        i_++;
        push(Tok::string, start);
        return;
      } else if (c == '$' && i_ + 1 < s_.size() && s_[i_ + 1] == '{') {
        i_ += 2;
        braces_.push_back(Brace::template_expr);
        prev2_ = prev_;
        prev_ = Token{Tok::punct, "${"};
        return;
      } else {
        i_++;
      }
    }
    if (i_ > s_.size()) i_ = s_.size();
  }

  void regex_literal() {
    size_t start = i_++;
    bool in_class = false;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\\') {
        i_ += 2;
        continue;
      }
      if (c == '\n' || c == '\r') break;  // not a regex after all; the compiler decides
      i_++;
      if (c == '[') in_class = true;
      else if (c == ']') in_class = false;
      else if (c == '/' && !in_class) break;
    }
    if (i_ > s_.size()) i_ = s_.size();
    while (i_ < s_.size() && is_ident_char((unsigned char)s_[i_])) i_++;  // flags
    push(Tok::string, start);
  }

  bool regex_allowed() const {
    switch (prev_.kind) {
      case Tok::none:
        return true;
      case Tok::ident:
        return keyword_before_expression(prev_.text);
      case Tok::number:
      case Tok::string:
        return false;
      case Tok::punct:
        if (prev_.text == ")") return last_paren_ == Paren::condition;
        if (prev_.text == "]" || prev_.text == "++" || prev_.text == "--") return false;
        if (prev_.text == "}") return last_brace_ == Brace::block;
        return true;
    }
    return true;
  }

  // `{` opens a block after a statement boundary, `)` (function or
  // condition), `=>` or a statement keyword; otherwise an object literal.
  Brace brace_kind() const {
    if (prev_.kind == Tok::none) return Brace::block;
    if (prev_.kind == Tok::ident) return keyword_before_expression(prev_.text) ? Brace::object : Brace::block;
    if (prev_.kind == Tok::punct) {
      auto t = prev_.text;
      if (t == ";" || t == "{" || t == "}" || t == ")" || t == "=>") return Brace::block;
    }
    return Brace::object;
  }

  void punct() {
    size_t start = i_;
    char c = s_[i_];
    if (c == '\\') {
      // Outside strings a backslash starts an escaped identifier
      // (`\u0063onst`): too clever for this scan, so Babel decides.
      out_.has_escape = true;
      i_++;
      push(Tok::punct, start);
      return;
    }
    if (c == '{') {
      braces_.push_back(brace_kind());
      i_++;
    } else if (c == '}') {
      if (!braces_.empty()) {
        last_brace_ = braces_.back();
        braces_.pop_back();
      } else {
        last_brace_ = Brace::block;
      }
      i_++;
    } else if (c == '(') {
      bool cond = prev_.kind == Tok::ident && (prev_.text == "if" || prev_.text == "while" ||
                                               prev_.text == "for" || prev_.text == "with");
      parens_.push_back(cond ? Paren::condition : Paren::plain);
      i_++;
    } else if (c == ')') {
      if (!parens_.empty()) {
        last_paren_ = parens_.back();
        parens_.pop_back();
      } else {
        last_paren_ = Paren::plain;
      }
      i_++;
    } else {
      // Multi-character operators matter only where the regex decision or
      // a property access depends on them.
      static constexpr std::string_view multi[] = {"...", "?.", "=>", "++", "--"};
      bool matched = false;
      for (auto m : multi) {
        if (s_.substr(i_, m.size()) == m && !(m == "?." && i_ + 2 < s_.size() && s_[i_ + 2] >= '0' && s_[i_ + 2] <= '9')) {
          i_ += m.size();
          matched = true;
          break;
        }
      }
      if (!matched) i_++;
    }
    push(Tok::punct, start);
  }

  std::string_view s_;
  size_t i_ = 0;
  Token prev_, prev2_;
  std::vector<Brace> braces_;
  std::vector<Paren> parens_;
  Brace last_brace_ = Brace::block;
  Paren last_paren_ = Paren::plain;
  SourceScan out_;
};

// How much the lowering heap may grow past its size after loading before
// it is replaced (see Lowerer::lower).
constexpr size_t kMaxRetainedBytes = 64u << 20;

// Bytes the process has allocated and not freed. ASan replaces malloc, and
// glibc's mallinfo2 then sees none of it.
size_t allocated_bytes() {
#ifdef WFP_SANITIZER_BUILD
  return __sanitizer_get_current_allocated_bytes();
#else
  return mallinfo2().uordblks;
#endif
}

std::string format_of(const SourceScan& scan, bool es_module) {
  if (es_module) return "commonjs";
  if (scan.uses_exports && !scan.uses_add_event_listener) return "commonjs";
  return "service-worker";
}

// ---------------------------------------------------------------------------
// The heap.

// Duktape calls this when its invariants broke; it must not return. The
// compiler child dies and the supervisor replaces it.
void lowering_fatal(void*, const char* msg) {
  logf(LogLevel::error, "lowering: duktape fatal error: %s", msg ? msg : "(none)");
  _exit(70);
}

// [] → []: loads and runs each embedded bytecode blob in order.
duk_ret_t safe_load_embedded(duk_context* ctx, void*) {
  const unsigned char* p = wfp_lowering_bc;
  const unsigned char* end = wfp_lowering_bc_end;
  int blobs = 0;
  while (p < end) {
    if (end - p < 4) return duk_error(ctx, DUK_ERR_ERROR, "truncated lowering bytecode");
    size_t n = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
    p += 4;
    if ((size_t)(end - p) < n) return duk_error(ctx, DUK_ERR_ERROR, "truncated lowering bytecode");
    // Read in place from .rodata: loading only reads the buffer.
    duk_push_external_buffer(ctx);
    duk_config_buffer(ctx, -1, const_cast<unsigned char*>(p), n);
    duk_load_function(ctx);
    duk_call(ctx, 0);
    duk_pop(ctx);
    p += n;
    blobs++;
  }
  if (blobs != 3) return duk_error(ctx, DUK_ERR_ERROR, "expected 3 bytecode blobs, found %d", blobs);
  duk_get_global_string(ctx, "__wfpLower");
  if (!duk_is_function(ctx, -1)) return duk_error(ctx, DUK_ERR_ERROR, "__wfpLower missing");
  duk_get_global_string(ctx, "Babel");
  if (!duk_is_object(ctx, -1)) return duk_error(ctx, DUK_ERR_ERROR, "Babel missing");
  duk_pop_2(ctx);
  return 0;
}

struct CompileCheck {
  const std::string* filename;
  const std::string* source;
};

// [] → [fn]: compiles the source as a program; throws on a syntax error.
duk_ret_t safe_compile(duk_context* ctx, void* udata) {
  auto* a = (CompileCheck*)udata;
  duk_push_lstring(ctx, a->filename->data(), a->filename->size());
  duk_compile_lstring_filename(ctx, 0, a->source->data(), a->source->size());
  return 1;
}

struct BabelCall {
  const std::string* filename = nullptr;
  const std::string* source = nullptr;
  bool module_hint = false;
  // Out:
  bool ok = false;
  bool es_module = false;
  bool uses_exports = false;
  bool uses_add_event_listener = false;
  std::string code, line_map, name, message;
  int line = 0, column = 0;
};

std::string read_string_prop(duk_context* ctx, const char* key) {
  duk_get_prop_string(ctx, -1, key);
  duk_size_t n = 0;
  const char* s = duk_safe_to_lstring(ctx, -1, &n);
  std::string out(s, n);
  duk_pop(ctx);
  return out;
}

// [] → []: calls __wfpLower and copies its result out, all inside the
// protected call so that nothing Duktape throws escapes.
duk_ret_t safe_babel(duk_context* ctx, void* udata) {
  auto* a = (BabelCall*)udata;
  duk_get_global_string(ctx, "__wfpLower");
  duk_push_lstring(ctx, a->filename->data(), a->filename->size());
  duk_push_lstring(ctx, a->source->data(), a->source->size());
  duk_push_boolean(ctx, a->module_hint);
  duk_call(ctx, 3);
  if (!duk_is_object(ctx, -1)) return duk_error(ctx, DUK_ERR_TYPE_ERROR, "__wfpLower returned no object");
  duk_get_prop_string(ctx, -1, "ok");
  a->ok = duk_to_boolean(ctx, -1);
  duk_pop(ctx);
  if (a->ok) {
    duk_get_prop_string(ctx, -1, "module");
    a->es_module = duk_to_boolean(ctx, -1);
    duk_get_prop_string(ctx, -2, "usesExports");
    a->uses_exports = duk_to_boolean(ctx, -1);
    duk_get_prop_string(ctx, -3, "usesAddEventListener");
    a->uses_add_event_listener = duk_to_boolean(ctx, -1);
    duk_pop_3(ctx);
    a->code = read_string_prop(ctx, "code");
    a->line_map = read_string_prop(ctx, "lineMap");
  } else {
    a->name = read_string_prop(ctx, "name");
    a->message = read_string_prop(ctx, "message");
    duk_get_prop_string(ctx, -1, "line");
    a->line = duk_to_int(ctx, -1);
    duk_get_prop_string(ctx, -2, "column");
    a->column = duk_to_int(ctx, -1);
    duk_pop_2(ctx);
  }
  duk_pop(ctx);
  return 0;
}

}  // namespace

// The heap's udata stays null: the engine hands it to
// wfp_duk_exec_timeout_check (sandbox/host.cc), which reads a non-null one
// as a WorkerHeap's state. Null means "no deadline", which is what this
// heap wants: the compiler child's watchdog bounds it instead. Default
// malloc for the same reason (a counting allocator would need the udata).
void Lowerer::Impl::load() {
  ctx = duk_create_heap(nullptr, nullptr, nullptr, nullptr, lowering_fatal);
  if (!ctx) throw std::runtime_error("lowering: duk_create_heap failed");
  if (duk_safe_call(ctx, safe_load_embedded, nullptr, 0, 1) != 0) {
    std::string err = duk_safe_to_string(ctx, -1);
    discard();
    throw std::runtime_error("lowering: loading Babel failed: " + err);
  }
  duk_pop(ctx);
  // Loading leaves megabytes of garbage (Babel's start-up temporaries); a
  // collection now keeps the warm heap at its working size.
  duk_gc(ctx, 0);
  malloc_after_load = allocated_bytes();
}

void Lowerer::Impl::discard() {
  if (ctx) duk_destroy_heap(ctx);
  ctx = nullptr;
}

Lowerer::Lowerer() : impl_(std::make_unique<Impl>()) { impl_->load(); }

Lowerer::~Lowerer() {
  if (impl_) impl_->discard();
}

LowerResult Lowerer::lower(const std::string& filename, const std::string& source, bool module_hint) {
  LowerResult r;
  if (!impl_->ctx) {
    try {
      impl_->load();
    } catch (const std::exception& e) {  // runtime_error, bad_alloc
      r.error = filename + ": " + e.what();
      return r;
    }
  }
  duk_context* ctx = impl_->ctx;
  duk_idx_t base = duk_get_top(ctx);
  SourceScan scan = Scanner(source).run();

  // Fast path: strictly ES5 needs nothing. Duktape compiling it is not
  // enough (it takes `const` with var semantics), hence the scan first.
  if (!module_hint && !scan.has_const && !scan.has_module_syntax && !scan.has_escape) {
    CompileCheck check{&filename, &source};
    bool compiles = duk_safe_call(ctx, safe_compile, &check, 0, 1) == 0;
    duk_set_top(ctx, base);
    if (compiles) {
      r.ok = true;
      r.code = source;
      r.format = format_of(scan, false);
      r.lowered = false;
      return r;
    }
    // A compile failure may be modern syntax, or a real error: Babel says
    // which, with an original line and column either way.
  }

  BabelCall call;
  call.filename = &filename;
  call.source = &source;
  call.module_hint = module_hint;
  bool called = duk_safe_call(ctx, safe_babel, &call, 0, 1) == 0;
  std::string failure = called ? std::string() : duk_safe_to_string(ctx, -1);
  duk_set_top(ctx, base);
  // Babel's paths and scopes point at each other, so reference counting
  // frees little of the tens of megabytes one run leaves; left to the
  // engine's own schedule the heap grew to ~260 MB before it collected.
  // A collection per run (≈0.1–0.3 s) keeps the warm heap near its size
  // after loading, which is what the compiler's memory limit is set for.
  duk_gc(ctx, 0);
  // Even collected, the heap keeps what its largest lowerings left behind:
  // measured, +15 MB after a 1 KB worker and +47 then +92 MB after a 9 KB
  // one, then flat; live data, not garbage (cause not pinned down: Babel's
  // caches, or core-js's WeakMap, which without a native one hangs values
  // on the keys). Past a bound the heap is dropped and the next lowering
  // loads a fresh one (≈0.5–1 s). The process's malloc figure stands in
  // for the heap's: the compiler child allocates little else.
  if (allocated_bytes() > impl_->malloc_after_load + kMaxRetainedBytes) impl_->discard();
  if (!called) {
    // Not a syntax error of the source: the lowering itself failed (out
    // of memory, recursion limit on a deeply nested source).
    r.error = filename + ": lowering failed: " + failure;
    return r;
  }
  if (!call.ok) {
    if (call.line > 0)
      r.error = filename + ":" + std::to_string(call.line) + ":" + std::to_string(call.column > 0 ? call.column : 1) +
                ": " + call.name + ": " + call.message;
    else
      r.error = filename + ": " + call.name + ": " + call.message;
    return r;
  }
  r.ok = true;
  r.lowered = true;
  r.code = std::move(call.code);
  r.line_map = std::move(call.line_map);
  // Babel's syntax tree knows better than the scan what the script uses.
  scan.uses_exports = call.uses_exports;
  scan.uses_add_event_listener = call.uses_add_event_listener;
  r.format = format_of(scan, call.es_module || module_hint);
  return r;
}

}  // namespace wfp
