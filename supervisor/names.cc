// Name rules shared by wfpd (admin API, store) and wfpctl.
#include "supervisor/names.h"

namespace wfp {

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(n[0])) return false;
  for (char c : n)
    if (!alnum(c) && c != '_' && c != '-') return false;
  return true;
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 64) return false;
  for (unsigned char c : t)
    if (c <= 0x20 || c >= 0x7f || c == ',' || c == '&' || c == ':') return false;
  return true;
}

std::string invalid_name_message(std::string_view what, std::string_view name) {
  std::string shown;
  for (unsigned char c : name.substr(0, 80)) shown += (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  return std::string(what) + " name \"" + shown +
         "\" is invalid: names match [a-z0-9][a-z0-9_-]{0,62}";
}

}  // namespace wfp
