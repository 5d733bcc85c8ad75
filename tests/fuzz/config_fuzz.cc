// libFuzzer target: the configuration file parser (supervisor/config.cc).
// The file is root-owned but may be wrong in any way; a wrong file must
// give errors naming what is wrong, never a crash. Input: the file's text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text((const char*)data, size);
  wfp::Config c = wfp::default_config();
  std::vector<std::string> errors;
  bool ok = wfp::parse_config(text, "/fuzz/wfpd.conf", c, errors);
  // Every failure names where it is: "PATH:LINE: text".
  if (ok != errors.empty()) __builtin_trap();
  for (const std::string& e : errors)
    if (e.rfind("/fuzz/wfpd.conf:", 0) != 0) __builtin_trap();
  if (ok) {
    // What parsed is then cross-checked and compared, as a SIGHUP does.
    // admin_token_file names a file; check_config would read it, so only
    // configurations without one are checked further.
    std::vector<std::string> more;
    if (c.admin_token_file.empty()) wfp::check_config(c, more);
    wfp::Config live = wfp::default_config();
    wfp::config_changes(live, c);
    wfp::apply_reloadable(live, c);
  }
  return 0;
}
