// The man pages and the programs say the same: every option of wfpd (as
// `wfpd --help` lists them) is in wfpd(8)'s SYNOPSIS and OPTIONS, and
// every option those name is one wfpd takes; every command and option of
// wfpctl (as `wfpctl --help` lists them) is in wfpctl(8), and every
// command and option documented there exists. Config keys are checked
// against wfpd.conf(5) in tests/unit/docs_test.cc, which links their table.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "tests/integration/wfpd_fixture.h"
#include "tests/support/man_page.h"

namespace wfp::test {
namespace {

// The options a --help text names: "-c", "--listen", ...
std::set<std::string> help_flags(const std::string& help) {
  std::set<std::string> out;
  static const std::regex flag(R"((?:^|[\s\[|(])(--?[a-z][a-z0-9-]*))");
  for (std::sregex_iterator it(help.begin(), help.end(), flag), end; it != end; ++it)
    out.insert((*it)[1].str());
  return out;
}

std::string joined(const std::set<std::string>& s) {
  std::string out;
  for (auto& e : s) out += (out.empty() ? "" : " ") + e;
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The .It lines of `lines`, and the lines of .It Xo ... .Xc blocks: where
// the pages name commands and options (not where the prose mentions one).
std::vector<std::string> item_heads(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  bool in_xo = false;
  for (auto& line : lines) {
    bool it = line.rfind(".It", 0) == 0;
    if (it) in_xo = line.find(" Xo") != std::string::npos;
    if (it || in_xo) out.push_back(line);
    if (line.rfind(".Xc", 0) == 0) in_xo = false;
  }
  return out;
}

class Docs : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(man_dir(), "") << "no man/ in $WFP_BUILD_DIR/.. or the working directory";
  }
};

// --- wfpd(8) ------------------------------------------------------------------------

// Whether wfpd takes `flag`: asked in check-only mode, after which nothing
// starts; an option it lacks is "unknown", one that wants a value says so.
bool wfpd_takes(const std::string& flag, std::string& said) {
  CmdResult r = run({bin("wfpd"), "-c", "/dev/null", "--check-config", flag});
  said = r.err + r.out;
  return r.status != 127 && said.find("unknown option") == std::string::npos;
}

TEST_F(Docs, EveryWfpdOptionIsInTheSynopsisAndOptionsOfWfpd8) {
  CmdResult help = run({bin("wfpd"), "--help"});
  ASSERT_EQ(help.status, 0) << help.err;
  std::set<std::string> code = help_flags(help.out);
  ASSERT_TRUE(code.count("--listen")) << help.out;
  ManPage page = ManPage::load("wfpd.8");
  std::set<std::string> synopsis = man_flags(page.section("SYNOPSIS"));
  std::set<std::string> options = man_flags(item_heads(page.section("OPTIONS")));
  for (auto& flag : code) {
    EXPECT_TRUE(synopsis.count(flag))
        << flag << " (wfpd --help) is not in wfpd(8)'s SYNOPSIS: " << joined(synopsis);
    EXPECT_TRUE(options.count(flag))
        << flag << " (wfpd --help) is not in wfpd(8)'s OPTIONS: " << joined(options);
  }
}

TEST_F(Docs, EveryOptionWfpd8DocumentsIsOneWfpdTakes) {
  ManPage page = ManPage::load("wfpd.8");
  std::set<std::string> documented = man_flags(page.section("SYNOPSIS"));
  for (auto& f : man_flags(item_heads(page.section("OPTIONS")))) documented.insert(f);
  ASSERT_TRUE(documented.count("--check-config")) << joined(documented);
  for (auto& flag : documented) {
    std::string said;
    EXPECT_TRUE(wfpd_takes(flag, said)) << "wfpd(8) documents " << flag << ": " << said;
  }
  std::string said;
  EXPECT_FALSE(wfpd_takes("--no-such-option", said))
      << "the probe itself must be able to fail: " << said;
}

// --- wfpctl(8) ----------------------------------------------------------------------

// Words of a command: those before its first argument or option.
std::string command_words(const std::vector<std::string>& words) {
  std::string out;
  for (auto& w : words) {
    if (w.empty() || !(w[0] >= 'a' && w[0] <= 'z')) break;
    out += (out.empty() ? "" : " ") + w;
  }
  return out;
}

// The commands `wfpctl --help` lists.
std::set<std::string> help_commands(const std::string& help) {
  std::set<std::string> out;
  auto lines = lines_of(help);
  auto at = std::find(lines.begin(), lines.end(), "commands:");
  for (auto it = at == lines.end() ? at : at + 1; it != lines.end() && it->rfind("  ", 0) == 0;
       ++it) {
    std::istringstream in(*it);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    out.insert(command_words(words));
  }
  return out;
}

// The commands wfpctl(8) documents: its COMMANDS items, ".It Cm WORDS ..."
// or ".It Xo" then ".Cm WORDS ...".
std::set<std::string> man_commands(const ManPage& page) {
  std::set<std::string> out;
  std::vector<std::string> lines = page.section("COMMANDS");
  for (size_t i = 0; i < lines.size(); i++) {
    if (lines[i].rfind(".It ", 0) != 0) continue;
    std::vector<std::string> words = man_words(lines[i]);
    if (!words.empty() && words[0] == "Xo" && i + 1 < lines.size() &&
        lines[i + 1].rfind(".Cm ", 0) == 0)
      words = man_words(lines[i + 1]);
    else if (words.empty() || words[0] != "Cm")
      continue;
    else
      words.erase(words.begin());
    std::vector<std::string> kept;
    for (auto& w : words) {
      if (is_mdoc_macro(w)) break;
      kept.push_back(w);
    }
    out.insert(command_words(kept));
  }
  return out;
}

TEST_F(Docs, EveryWfpctlCommandIsInWfpctl8) {
  CmdResult help = run({bin("wfpctl"), "--help"});
  ASSERT_EQ(help.status, 0) << help.err;
  std::set<std::string> code = help_commands(help.out);
  ASSERT_TRUE(code.count("script deploy")) << help.out;
  std::set<std::string> documented = man_commands(ManPage::load("wfpctl.8"));
  for (auto& command : code)
    EXPECT_TRUE(documented.count(command))
        << "wfpctl " << command << " is not in wfpctl(8)'s COMMANDS";
}

TEST_F(Docs, EveryCommandWfpctl8DocumentsExists) {
  std::set<std::string> documented = man_commands(ManPage::load("wfpctl.8"));
  ASSERT_TRUE(documented.count("namespace create")) << joined(documented);
  for (auto& command : documented) {
    std::vector<std::string> argv = {bin("wfpctl")};
    std::istringstream in(command);
    for (std::string w; in >> w;) argv.push_back(w);
    argv.push_back("--help");
    CmdResult r = run(argv);
    EXPECT_EQ(r.status, 0) << "wfpctl(8) documents \"" << command << "\": " << r.out << r.err;
    EXPECT_EQ(r.out.rfind("usage: wfpctl " + command, 0), 0u)
        << "wfpctl(8) documents \"" << command << "\", wfpctl knows: " << r.out;
  }
}

TEST_F(Docs, WfpctlAndWfpctl8NameTheSameOptions) {
  CmdResult help = run({bin("wfpctl"), "--help"});
  ASSERT_EQ(help.status, 0) << help.err;
  std::set<std::string> code = help_flags(help.out);
  ASSERT_TRUE(code.count("--cursor")) << help.out;
  ManPage page = ManPage::load("wfpctl.8");
  std::set<std::string> documented = man_flags(page.section("SYNOPSIS"));
  for (const char* section : {"OPTIONS", "COMMANDS"})
    for (auto& f : man_flags(item_heads(page.section(section)))) documented.insert(f);
  for (auto& flag : code)
    EXPECT_TRUE(documented.count(flag))
        << flag << " (wfpctl --help) is not in wfpctl(8): " << joined(documented);
  for (auto& flag : documented)
    EXPECT_TRUE(code.count(flag)) << "wfpctl(8) documents " << flag
                                  << ", which wfpctl --help does not list";
}

}  // namespace
}  // namespace wfp::test
