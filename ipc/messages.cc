// The message catalogue's table; linked by every role.
#include "ipc/messages.h"

namespace wfp {
namespace {
constexpr size_t KiB = 1024, MiB = 1024 * KiB;
constexpr uint32_t S = role_bit(Role::supervisor);
constexpr uint32_t D = role_bit(Role::dispatcher);
constexpr uint32_t B = role_bit(Role::sandbox);
constexpr uint32_t C = role_bit(Role::compiler);

// Bodies are bounded by max_body_bytes (at most 64 MiB is accepted by the
// config bounds) and scripts by max_script_bytes; the limits here are the
// hard ceiling a frame sequence may reach before the sender is killed.
const MsgRule kRules[] = {
    {MsgType::hello, "hello", D | B | C, 1 * KiB},
    {MsgType::load_worker, "load_worker", S, 80 * MiB},
    {MsgType::load_result, "load_result", D | B, 64 * KiB},
    {MsgType::request, "request", S, 80 * MiB},
    {MsgType::response, "response", D | B, 80 * MiB},
    {MsgType::request_failed, "request_failed", D | B, 64 * KiB},
    {MsgType::subrequest, "subrequest", D | B, 80 * MiB},
    {MsgType::subresponse, "subresponse", S, 80 * MiB},
    {MsgType::subrequest_failed, "subrequest_failed", S, 64 * KiB},
    {MsgType::log, "log", D | B | C, 20 * KiB},
    {MsgType::compile, "compile", S, 24 * MiB},
    {MsgType::compile_result, "compile_result", C, 80 * MiB},
    {MsgType::shutdown, "shutdown", S, 0},
    {MsgType::fetch, "fetch", D | B, 80 * MiB},
    {MsgType::body_read, "body_read", D | B, 1 * KiB},
    {MsgType::body_data, "body_data", S, 80 * MiB},
    {MsgType::cache_op, "cache_op", D | B, 80 * MiB},
    {MsgType::cache_result, "cache_result", S, 16},
};
}  // namespace

const MsgRule* msg_rule(uint16_t type) {
  for (const MsgRule& r : kRules)
    if ((uint16_t)r.type == type) return &r;
  return nullptr;
}

const char* role_name(Role role) {
  switch (role) {
    case Role::supervisor: return "supervisor";
    case Role::zygote: return "zygote";
    case Role::dispatcher: return "dispatcher";
    case Role::sandbox: return "sandbox";
    case Role::compiler: return "compiler";
  }
  return "?";
}

}  // namespace wfp
