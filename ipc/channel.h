// A channel between the supervisor and one locked child: one shared-memory
// segment (Boost.Interprocess, created by the supervisor before the fork)
// holding two single-producer/single-consumer byte rings, plus a doorbell
// socketpair that wakes the peer and tells it when the other side is gone.
//
// Trust: the peer may be hostile and may be killed mid-write. Nothing in
// shared memory is a lock or allocator state; each side keeps its own copy
// of the indices it owns and only *reads* the peer's index, checking it
// against the ring's size; a frame is copied out of the ring before any
// field of it is looked at. Any inconsistency is a protocol error, and the
// caller kills the peer.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/messages.h"

namespace wfp {

struct Message {
  uint16_t type = 0;
  uint64_t request_id = 0;
  std::string payload;
};

enum class ChannelStatus { ok, closed, protocol_error };

class Channel {
 public:
  // Supervisor side: creates the segment and the doorbell pair.
  // `peer` is the role of the child this channel will serve.
  static std::unique_ptr<Channel> create(Role peer, std::string& error);
  // Child side: maps the inherited segment fd (then closes it) and adopts
  // the doorbell fd. The peer of a child is always the supervisor.
  static std::unique_ptr<Channel> attach(int shm_fd, int doorbell_fd, Role self,
                                         std::string& error);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // The fd to wait on (readable = the peer rang or hung up).
  int doorbell_fd() const { return doorbell_fd_; }
  // Supervisor side, before the child exists: the two fds the child needs.
  int child_shm_fd() const { return child_shm_fd_; }
  int child_doorbell_fd() const { return child_doorbell_fd_; }
  // Supervisor side, once the child has them: close our copies.
  void close_child_ends();

  // Queues a message. Frames go into the ring as space allows; the rest
  // waits in a local buffer flushed by service(). Never blocks.
  void send(MsgType type, uint64_t request_id, std::string_view payload);
  bool has_pending_output() const { return !pending_.empty(); }
  size_t pending_bytes() const { return pending_.size(); }

  // Drains the doorbell, flushes queued output, and appends every complete
  // incoming message to `out`. Call when doorbell_fd() is readable.
  // closed: the peer hung up; protocol_error: the peer broke the protocol
  // (error() says how). Messages received before either are still in `out`.
  ChannelStatus service(std::vector<Message>& out);

  // Child side: the doorbell fd was moved (dup2) to `fd`.
  void adopt_doorbell(int fd) { doorbell_fd_ = fd; }

  // Blocks (poll) until the doorbell is readable or timeout_ms passes
  // (-1 = forever). Child side only. False on timeout.
  bool wait(int timeout_ms);

  // Child side: which request's JavaScript runs now (0: none), before and
  // after every call into a heap. Supervisor side: what the child last said
  // (hostile: used only to decide whether to kill this child, never to
  // name another's work). See the watchdog in supervisor/daemon.cc.
  void mark_running(uint64_t request);
  void peer_running(uint64_t& request, uint64_t& runs) const;

  const std::string& error() const { return error_; }
  Role peer() const { return peer_; }

#ifdef WFP_TEST_HOOKS
  // build/wfpd-test only (sandbox/test_hooks.cc, for tests/security):
  // publishes `bytes` in the outgoing ring as they are, with no framing,
  // after any queued frames, and rings the doorbell; false if queued
  // frames are still waiting or the bytes don't fit. Lets a test play a
  // peer that writes bad lengths.
  bool test_write_raw(std::string_view bytes);
#endif

  static constexpr size_t kRingBytes = 256 * 1024;
  struct Ring;

 private:
  Channel() = default;
  bool flush();
  ChannelStatus read_frames(std::vector<Message>& out);
  void ring_doorbell();
  ChannelStatus fail(const std::string& why);

  struct Segment;
  std::unique_ptr<Segment> seg_;
  Ring* out_ring_ = nullptr;
  Ring* in_ring_ = nullptr;
  uint8_t* out_data_ = nullptr;
  uint8_t* in_data_ = nullptr;
  uint64_t out_head_ = 0;  // our copy of what we've written
  uint64_t in_tail_ = 0;   // our copy of what we've consumed
  int doorbell_fd_ = -1;
  int child_shm_fd_ = -1;
  int child_doorbell_fd_ = -1;
  Role peer_ = Role::supervisor;
  std::string pending_;  // framed bytes not yet in the ring
  // A message being reassembled from frames.
  bool assembling_ = false;
  Message partial_;
  std::string error_;
  bool peer_closed_ = false;
};

}  // namespace wfp
