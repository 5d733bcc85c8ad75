// wfpd.conf(5) and the table of keys in supervisor/config.cc say the same:
// every key in the code is documented with its default, its bounds and
// whether SIGHUP applies it, and every key documented exists. Runs in the
// unit-test binary, which links the table (wfpd has no way to list it);
// the options and commands of wfpd and wfpctl are checked in
// tests/integration/docs_test.cc.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "supervisor/config.h"
#include "tests/support/man_page.h"

namespace wfp::test {
namespace {

// Each `.It Cm KEY ...` item of wfpd.conf(5), by key.
std::map<std::string, ManItem> documented_keys(const ManPage& page) {
  std::map<std::string, ManItem> out;
  for (auto& item : man_items(page.lines)) {
    auto words = man_words(item.head);
    if (words.size() >= 2 && words[0] == "Cm") out.emplace(words[1], item);
  }
  return out;
}

std::vector<std::string> split_default(const std::string& value) {
  std::vector<std::string> out;
  std::string v = value;
  for (char& c : v)
    if (c == ',') c = ' ';
  std::istringstream in(v);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string strip_punctuation(std::string w) {
  while (!w.empty() && (w.back() == '.' || w.back() == ',' || w.back() == ';')) w.pop_back();
  return w;
}

class Docs : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(man_dir(), "") << "no man/ in $WFP_BUILD_DIR/.. or the working directory";
    page = ManPage::load("wfpd.conf.5");
    ASSERT_FALSE(page.lines.empty()) << man_dir() << "/wfpd.conf.5";
  }
  ManPage page;
};

TEST_F(Docs, EveryConfigKeyIsDocumentedWithItsDefault) {
  auto documented = documented_keys(page);
  for (const ConfigKey& key : config_keys()) {
    auto it = documented.find(key.name);
    if (it == documented.end()) {
      ADD_FAILURE() << "config key " << key.name << " is not documented in wfpd.conf(5)";
      continue;
    }
    std::string text = man_text(it->second.body);
    std::vector<std::string> want = split_default(key.default_value);
    if (want.empty()) {
      EXPECT_TRUE(text.find("Empty by default") != std::string::npos ||
                  text.find("default is empty") != std::string::npos)
          << key.name << ": its default is empty, and the page should say so:\n"
          << text;
      continue;
    }
    size_t at = text.find("The default is ");
    if (at == std::string::npos) {
      ADD_FAILURE() << key.name << ": no \"The default is ...\" in wfpd.conf(5):\n" << text;
      continue;
    }
    std::vector<std::string> words;
    std::istringstream rest(text.substr(at + 15));
    for (std::string w; rest >> w;) words.push_back(strip_punctuation(w));
    EXPECT_EQ(words.empty() ? "" : words[0], want[0])
        << key.name << ": the code's default is \"" << key.default_value << "\":\n"
        << text;
    std::set<std::string> shown(words.begin(), words.end());
    for (auto& w : want)
      EXPECT_TRUE(shown.count(w)) << key.name << ": default element " << w << " is not shown:\n"
                                  << text;
  }
}

TEST_F(Docs, EveryIntegerKeyIsDocumentedWithItsBounds) {
  auto documented = documented_keys(page);
  for (const ConfigKey& key : config_keys()) {
    if (key.type != ConfigType::integer || !documented.count(key.name)) continue;
    std::string head = man_text({documented.at(key.name).head});
    std::string bounds = "integer, " + std::to_string(key.min) + " to " + std::to_string(key.max);
    EXPECT_NE(head.find(bounds), std::string::npos)
        << key.name << ": expected \"" << bounds << "\" in \"" << head << "\"";
  }
}

TEST_F(Docs, EveryDocumentedConfigKeyExists) {
  std::set<std::string> code;
  for (const ConfigKey& key : config_keys()) code.insert(key.name);
  for (auto& [name, item] : documented_keys(page))
    EXPECT_TRUE(code.count(name)) << "wfpd.conf(5) documents " << name
                                  << ", which the code does not have";
}

// DESCRIPTION names the keys a SIGHUP does not apply: exactly the table's
// keys that are not reloadable.
TEST_F(Docs, TheKeysThatNeedARestartAreTheOnesTheCodeDoesNotReload) {
  std::vector<std::string> description = page.section("DESCRIPTION");
  std::set<std::string> documented;
  bool in = false;
  for (auto& line : description) {
    if (line.find("except") != std::string::npos && line.find("reload") != std::string::npos)
      in = true;
    if (!in) continue;
    auto words = man_words(line);
    if (line.rfind(".Cm ", 0) == 0 && !words.empty()) documented.insert(words[0]);
    if (line.find("need a restart") != std::string::npos) break;
  }
  std::set<std::string> code;
  for (const ConfigKey& key : config_keys())
    if (!key.reloadable) code.insert(key.name);
  EXPECT_EQ(documented, code) << "the list of keys that \"need a restart\" in wfpd.conf(5)";
}

}  // namespace
}  // namespace wfp::test
