// The one catalogue of messages between the supervisor and its locked
// children (dispatcher, sandbox, compiler): each type with its size limit
// and the role allowed to send it. A frame whose type is unknown, whose
// sender may not send it, or whose size is over the limit kills the sender.
// Payload layouts are written next to each type and encoded with wire.h.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wfp {

enum class Role : uint8_t { supervisor = 0, zygote = 1, dispatcher = 2, sandbox = 3, compiler = 4 };
const char* role_name(Role role);

constexpr uint32_t role_bit(Role r) { return 1u << (unsigned)r; }
constexpr uint32_t kChildren = role_bit(Role::dispatcher) | role_bit(Role::sandbox);
constexpr uint32_t kRunners = kChildren;  // roles that run workers

enum class MsgType : uint16_t {
  // child → supervisor, once, first: str build_id
  hello = 1,
  // supervisor → runner. u64 slot, str label ("ns/name" or worker name),
  // str format, str source, str bytecode, str build_id, str bindings_json,
  // i64 cpu_ms, i64 subrequests, str lowered, str line_map,
  // u8 cache_default (1: caches.default may be used)
  load_worker = 2,
  // runner → supervisor. u64 slot, u32 ErrorCode, str message
  load_result = 3,
  // supervisor → runner, request_id = the supervisor's id. u64 slot,
  // str method, str url, pairs headers, str body, str args_json,
  // i64 cpu_ms, i64 subrequests, u32 depth, str env_json (values added to
  // env for this call only: an outbound worker's parameters; "" = none)
  request = 4,
  // runner → supervisor. u32 status, str status_text, pairs headers, str body,
  // u64 body_handle (≠ 0: the body is one the supervisor holds, `body` is
  // empty), u8 open (the request stays open after its answer: waitUntil work),
  // u64 cpu_us (CPU time the request's JavaScript used so far)
  response = 5,
  // runner → supervisor. u32 ErrorCode, str message, str stack, u8 open,
  // u64 cpu_us
  request_failed = 6,
  // runner → supervisor, request_id = a sub id chosen by the child. A
  // dispatch (script named) or a service-binding call (script empty).
  // u64 parent request id, str binding, str script, str args_json,
  // str method, str url, pairs headers, str body, i64 cpu_ms, i64 subrequests
  // (the call's own limits, 0 = none), u64 body_handle, str outbound_json
  // (a dispatch's get(…, {outbound}) values)
  subrequest = 7,
  // supervisor → runner, request_id = the sub id (of a subrequest or a
  // fetch). u32 status, str status_text, pairs headers, str body,
  // u64 body_handle (≠ 0: held by the supervisor, read with body_read),
  // u64 body_size, str url (final, after redirects), u8 redirected
  subresponse = 8,
  // supervisor → runner, request_id = the sub id. u32 ErrorCode, str message
  subrequest_failed = 9,
  // runner → supervisor, request_id = the request (or 0). str level, str text
  log = 10,
  // supervisor → compiler. str filename, str source, u8 module_hint
  compile = 11,
  // compiler → supervisor. u32 ErrorCode, str bytecode, str build_id,
  // str message, str lowered, str format, str line_map
  compile_result = 12,
  // supervisor → child: finish in-flight work and exit. No payload.
  shutdown = 13,
  // runner → supervisor, request_id = a sub id chosen by the child: the
  // global fetch(). u64 parent request id, str method, str url,
  // pairs headers, str body, u64 body_handle, u8 redirect (0 follow,
  // 1 manual, 2 error). Answered by subresponse or subrequest_failed.
  fetch = 14,
  // runner → supervisor, request_id = a read id chosen by the child: the
  // bytes of a body the supervisor holds. u64 parent request id, u64 handle.
  body_read = 15,
  // supervisor → runner, request_id = the read id. u32 ErrorCode, str bytes
  // (or the error message)
  body_data = 16,
  // runner → supervisor, request_id = a sub id: a Cache API call. u64 parent,
  // u8 op (0 match, 1 put, 2 delete), u8 is_default, str cache name,
  // str url, str method, pairs request headers, u8 ignore_method, then for
  // put: u32 status, pairs response headers, str body, u64 body_handle.
  // A match that hits is answered by subresponse; every other outcome by
  // cache_result, or subrequest_failed (a TypeError for the worker).
  cache_op = 17,
  // supervisor → runner, request_id = the sub id. u8 value (delete: whether
  // an entry went; match: 0, a miss; put: whether it was stored)
  cache_result = 18,
};

// Bodies larger than this travel between runners as handles to a copy the
// supervisor holds; a body that only passes through a worker never enters
// its heap.
constexpr size_t kInlineBodyMax = 64 * 1024;

struct MsgRule {
  MsgType type;
  const char* name;
  uint32_t senders;   // role bits allowed to send it
  size_t max_bytes;   // whole message, all frames together
};

// The rule for a type, or nullptr if the type is unknown.
const MsgRule* msg_rule(uint16_t type);

// Frames: a message is one or more frames in the ring; every frame but the
// last carries kFrameMore. Frame payloads are at most kMaxFramePayload.
constexpr size_t kMaxFramePayload = 60 * 1024;
constexpr size_t kLogTextMax = 16 * 1024;

}  // namespace wfp
