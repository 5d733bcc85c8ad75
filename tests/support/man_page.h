// Test support, linked into the unit and the integration tests: a small
// reader of our mdoc(7) pages in man/, for the tests that keep the pages
// and the code in step (tests/unit/docs_test.cc, tests/integration/docs_test.cc).
// It knows the few idioms those pages use, not all of mdoc.
#pragma once
#include <set>
#include <string>
#include <vector>

namespace wfp::test {

// The project's man/ directory: $WFP_BUILD_DIR/../man, else ./man (tools/
// run-tests runs from the project root); "" if neither holds wfpd.8.
std::string man_dir();

struct ManPage {
  std::vector<std::string> lines;  // the source, one line each

  // Reads man_dir()/name; no lines if it can't.
  static ManPage load(const std::string& name);

  // The lines of section `name` (.Sh name), without the .Sh line.
  std::vector<std::string> section(const std::string& name) const;
};

// One item of a tag list: its .It line and the lines up to the next .It of
// the same list or the list's end.
struct ManItem {
  std::string head;               // the .It line
  std::vector<std::string> body;  // nested lists included
};

// Every item of every list (nested ones too) in `lines`, in order.
std::vector<ManItem> man_items(const std::vector<std::string>& lines);

// The words of a macro line after its macro, with `\&` dropped; a text
// line gives its words.
std::vector<std::string> man_words(const std::string& line);

// The text a reader sees, roughly: macro names dropped, `Ns` joining its
// neighbours, words separated by one space.
std::string man_text(const std::vector<std::string>& lines);

// The options named with Fl on `lines`, spelled as typed: "-c", "--listen".
std::set<std::string> man_flags(const std::vector<std::string>& lines);

// Whether `word` is an mdoc macro name (Ar, Cm, Fl, Ns, Op, ...).
bool is_mdoc_macro(const std::string& word);

}  // namespace wfp::test
