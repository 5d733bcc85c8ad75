// Test support: the mdoc reader of man_page.h. Runs in the test binaries;
// its input is our own pages.
#include "tests/support/man_page.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace wfp::test {

std::string man_dir() {
  std::vector<std::string> candidates;
  if (const char* build = getenv("WFP_BUILD_DIR"); build && *build)
    candidates.push_back(std::string(build) + "/../man");
  candidates.push_back("man");
  for (auto& dir : candidates) {
    struct stat st;
    if (stat((dir + "/wfpd.8").c_str(), &st) == 0) return dir;
  }
  return "";
}

ManPage ManPage::load(const std::string& name) {
  ManPage page;
  std::string dir = man_dir();
  if (dir.empty()) return page;
  std::ifstream in(dir + "/" + name);
  for (std::string line; std::getline(in, line);) page.lines.push_back(line);
  return page;
}

std::vector<std::string> ManPage::section(const std::string& name) const {
  std::vector<std::string> out;
  bool in = false;
  for (auto& line : lines) {
    if (line.rfind(".Sh ", 0) == 0) {
      in = line.substr(4) == name;
      continue;
    }
    if (in) out.push_back(line);
  }
  return out;
}

std::vector<ManItem> man_items(const std::vector<std::string>& lines) {
  std::vector<ManItem> out;
  // Per open list, the index in `out` of its current item (or -1); an
  // item's body gets every line until its list's next .It or .El,
  // including the lines of lists nested in it.
  std::vector<long> open;
  for (auto& line : lines) {
    bool bl = line.rfind(".Bl", 0) == 0, el = line.rfind(".El", 0) == 0,
         it = line.rfind(".It", 0) == 0 && (line.size() == 3 || line[3] == ' ');
    if (it && !open.empty()) {
      for (size_t d = 0; d + 1 < open.size(); d++)
        if (open[d] >= 0) out[open[d]].body.push_back(line);
      out.push_back({line, {}});
      open.back() = long(out.size()) - 1;
      continue;
    }
    if (el && !open.empty()) open.pop_back();
    for (long i : open)
      if (i >= 0) out[i].body.push_back(line);
    if (bl) open.push_back(-1);
  }
  return out;
}

bool is_mdoc_macro(const std::string& w) {
  static const std::set<std::string> macros = {
      "Ac", "Ao", "Ap", "Aq", "Ar", "Bc", "Bo", "Bq", "Brc", "Bro", "Brq", "Cm", "Dc",
      "Do", "Dq", "Dv", "Em", "Er", "Ev", "Fa", "Fl", "Fn",  "Ic",  "It",  "Li", "Ms",
      "Nm", "No", "Ns", "Oc", "Oo", "Op", "Pa", "Pc", "Pf",  "Po",  "Pq",  "Qc", "Ql",
      "Qo", "Qq", "Sc", "So", "Sq", "Sy", "Va", "Xc", "Xo",  "Xr"};
  return macros.count(w) > 0;
}

std::vector<std::string> man_words(const std::string& line) {
  std::string text = line;
  for (size_t at; (at = text.find("\\&")) != std::string::npos;) text.erase(at, 2);
  std::istringstream in(text);
  std::vector<std::string> out;
  std::string w;
  if (!line.empty() && line[0] == '.') in >> w;  // the macro itself
  while (in >> w) out.push_back(w);
  return out;
}

std::string man_text(const std::vector<std::string>& lines) {
  std::string out;
  for (auto& line : lines) {
    if (line.rfind(".\\\"", 0) == 0) continue;  // a comment
    bool join = false;
    for (auto& w : man_words(line)) {
      if (w == "Ns") {
        join = true;
        continue;
      }
      if (line[0] == '.' && is_mdoc_macro(w)) continue;
      if (!out.empty() && !join) out += ' ';
      out += w;
      join = false;
    }
  }
  return out;
}

std::set<std::string> man_flags(const std::vector<std::string>& lines) {
  std::set<std::string> out;
  for (auto& line : lines) {
    if (line.empty() || line[0] != '.') continue;
    std::vector<std::string> words = man_words(line);
    std::string macro = line.substr(1, line.find(' ') - 1);
    // A line's own macro counts too: ".Fl -help | Fl -version".
    if (macro == "Fl") words.insert(words.begin(), "Fl");
    for (size_t i = 0; i + 1 < words.size(); i++) {
      if (words[i] != "Fl" || is_mdoc_macro(words[i + 1])) continue;
      std::string name = words[i + 1];
      while (!name.empty() && (name.back() == ',' || name.back() == '.')) name.pop_back();
      if (!name.empty() && name != "-") out.insert("-" + name);
    }
  }
  return out;
}

}  // namespace wfp::test
