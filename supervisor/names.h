// Validation of names that users give to namespaces, scripts, workers and
// tags. Linked by wfpd and wfpctl: one rule, one place.
#pragma once
#include <string>
#include <string_view>

namespace wfp {

// DESIGN.md: names match [a-z0-9][a-z0-9_-]{0,62}.
bool valid_name(std::string_view name);
// Tags: 1..64 printable ASCII characters, none of ',', '&', ':' or space.
bool valid_tag(std::string_view tag);
// The text of the error for an invalid name, naming what was given.
std::string invalid_name_message(std::string_view what, std::string_view name);

}  // namespace wfp
