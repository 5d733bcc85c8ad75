// Channel implementation: shared-memory rings and the doorbell. Runs in the
// supervisor (libevent drives service()) and in each locked child (a poll
// loop). See channel.h for the trust rules; the comments here say where
// each one is enforced.
#include "ipc/channel.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include "ipc/log.h"

namespace bip = boost::interprocess;

namespace wfp {

// The part of a ring that lives in shared memory. Each index is written by
// one side only; the other side reads it and must distrust it.
struct Channel::Ring {
  alignas(64) std::atomic<uint64_t> head;        // bytes produced (producer writes)
  alignas(64) std::atomic<uint64_t> tail;        // bytes consumed (consumer writes)
  alignas(64) std::atomic<uint32_t> want_space;  // producer is waiting for room
  // Child's ring only (the child writes, the supervisor's watchdog reads):
  // the request whose JavaScript runs now (0: none) and a count of runs.
  alignas(64) std::atomic<uint64_t> running;
  std::atomic<uint64_t> runs;
};
static_assert(sizeof(Channel::Ring) <= 256, "a ring's header must fit its stride");
static_assert(std::atomic<uint64_t>::is_always_lock_free, "rings need lock-free 64-bit atomics");

void Channel::mark_running(uint64_t request) {
  if (request) out_ring_->runs.store(out_ring_->runs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  out_ring_->running.store(request, std::memory_order_relaxed);
}

void Channel::peer_running(uint64_t& request, uint64_t& runs) const {
  request = in_ring_->running.load(std::memory_order_relaxed);
  runs = in_ring_->runs.load(std::memory_order_relaxed);
}

namespace {

constexpr size_t kHeaderBytes = 16;
constexpr uint16_t kFrameMore = 1;
constexpr size_t kRingStride = sizeof(Channel::kRingBytes) * 0 + 256;  // header area per ring

struct FrameHeader {
  uint32_t length;
  uint16_t type;
  uint16_t flags;
  uint64_t request_id;
};
static_assert(sizeof(FrameHeader) == kHeaderBytes);

size_t frame_size(size_t payload) { return kHeaderBytes + ((payload + 7) & ~size_t(7)); }
size_t segment_bytes() { return 2 * (kRingStride + Channel::kRingBytes); }

// Boost maps anything that hands out a mapping handle; the child gets its
// segment as an inherited fd, not a name, so nothing it could guess exists
// in /dev/shm once the supervisor has unlinked it.
struct FdMappable {
  int fd;
  bip::mapping_handle_t get_mapping_handle() const {
    return bip::ipcdetail::mapping_handle_from_file_handle(fd);
  }
};

}  // namespace

struct Channel::Segment {
  std::unique_ptr<bip::shared_memory_object> shm;  // supervisor side only
  bip::mapped_region region;
};

std::unique_ptr<Channel> Channel::create(Role peer, std::string& error) {
  static std::atomic<uint64_t> counter{0};
  std::unique_ptr<Channel> ch(new Channel());
  ch->peer_ = peer;
  ch->seg_ = std::make_unique<Segment>();
  std::string name = "/wfp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  try {
    bip::shared_memory_object::remove(name.c_str());
    ch->seg_->shm = std::make_unique<bip::shared_memory_object>(bip::create_only, name.c_str(),
                                                                bip::read_write);
    // The name is only needed to get an fd: unlink it at once so no other
    // process can open the segment by guessing it.
    bip::shared_memory_object::remove(name.c_str());
    ch->seg_->shm->truncate(segment_bytes());
    ch->seg_->region = bip::mapped_region(*ch->seg_->shm, bip::read_write, 0, segment_bytes());
  } catch (const std::exception& e) {
    bip::shared_memory_object::remove(name.c_str());
    error = std::string("channel: shared memory: ") + e.what();
    return nullptr;
  }
  uint8_t* base = (uint8_t*)ch->seg_->region.get_address();
  memset(base, 0, segment_bytes());
  auto* down = new (base) Ring();
  auto* up = new (base + kRingStride + kRingBytes) Ring();
  ch->out_ring_ = down;
  ch->out_data_ = base + kRingStride;
  ch->in_ring_ = up;
  ch->in_data_ = base + 2 * kRingStride + kRingBytes;

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
    error = std::string("channel: socketpair failed: ") + strerror(errno);
    return nullptr;
  }
  ch->doorbell_fd_ = sv[0];
  ch->child_doorbell_fd_ = sv[1];
  ch->child_shm_fd_ = ch->seg_->shm->get_mapping_handle().handle;
  return ch;
}

std::unique_ptr<Channel> Channel::attach(int shm_fd, int doorbell_fd, Role self, std::string& error) {
  (void)self;
  std::unique_ptr<Channel> ch(new Channel());
  ch->peer_ = Role::supervisor;
  ch->seg_ = std::make_unique<Segment>();
  try {
    ch->seg_->region = bip::mapped_region(FdMappable{shm_fd}, bip::read_write, 0, segment_bytes());
  } catch (const std::exception& e) {
    error = std::string("channel: mapping the segment failed: ") + e.what();
    return nullptr;
  }
  close(shm_fd);
  uint8_t* base = (uint8_t*)ch->seg_->region.get_address();
  ch->in_ring_ = (Ring*)base;
  ch->in_data_ = base + kRingStride;
  ch->out_ring_ = (Ring*)(base + kRingStride + kRingBytes);
  ch->out_data_ = base + 2 * kRingStride + kRingBytes;
  ch->doorbell_fd_ = doorbell_fd;
  return ch;
}

Channel::~Channel() {
  if (doorbell_fd_ >= 0) close(doorbell_fd_);
  close_child_ends();
}

void Channel::close_child_ends() {
  if (child_doorbell_fd_ >= 0) close(child_doorbell_fd_);
  child_doorbell_fd_ = -1;
  // The shm fd belongs to the shared_memory_object; drop the object (the
  // mapping stays valid) so the fd closes exactly once.
  if (seg_ && seg_->shm) seg_->shm.reset();
  child_shm_fd_ = -1;
}

void Channel::send(MsgType type, uint64_t request_id, std::string_view payload) {
  size_t off = 0;
  do {
    size_t n = std::min(payload.size() - off, kMaxFramePayload);
    FrameHeader h{(uint32_t)n, (uint16_t)type,
                  (uint16_t)(off + n < payload.size() ? kFrameMore : 0), request_id};
    size_t start = pending_.size();
    pending_.append((const char*)&h, sizeof h);
    pending_.append(payload.data() + off, n);
    pending_.resize(start + frame_size(n), '\0');
    off += n;
  } while (off < payload.size());
  flush();
}

// Copies framed bytes from pending_ into the ring, whole frames only, and
// publishes each with a release store of head. Returns false on a broken
// peer index.
bool Channel::flush() {
  size_t done = 0;
  bool wrote = false;
  while (done < pending_.size()) {
    FrameHeader h;
    memcpy(&h, pending_.data() + done, sizeof h);
    size_t size = frame_size(h.length);
    uint64_t tail = out_ring_->tail.load(std::memory_order_acquire);
    // The consumer owns tail; a value behind what it could have read or
    // ahead of what we wrote means it is lying.
    if (tail > out_head_ || out_head_ - tail > kRingBytes) {
      fail("peer moved the consumer index out of range");
      pending_.clear();
      return false;
    }
    size_t free_bytes = kRingBytes - (out_head_ - tail);
    if (free_bytes < size) {
      out_ring_->want_space.store(1, std::memory_order_seq_cst);
      // Re-check after announcing, or a consumer that drained in between
      // would never ring us.
      tail = out_ring_->tail.load(std::memory_order_seq_cst);
      if (tail > out_head_ || kRingBytes - (out_head_ - tail) < size) break;
      out_ring_->want_space.store(0, std::memory_order_relaxed);
    }
    size_t pos = out_head_ % kRingBytes;
    size_t first = std::min(size, kRingBytes - pos);
    memcpy(out_data_ + pos, pending_.data() + done, first);
    memcpy(out_data_, pending_.data() + done + first, size - first);
    out_head_ += size;
    out_ring_->head.store(out_head_, std::memory_order_release);
    done += size;
    wrote = true;
  }
  pending_.erase(0, done);
  if (wrote) ring_doorbell();
  return true;
}

void Channel::ring_doorbell() {
  char b = 1;
  // EAGAIN means the peer has unread bells already: it will wake anyway.
  if (::send(doorbell_fd_, &b, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
    peer_closed_ = true;
}

ChannelStatus Channel::fail(const std::string& why) {
  if (error_.empty()) error_ = why;
  return ChannelStatus::protocol_error;
}

ChannelStatus Channel::read_frames(std::vector<Message>& out) {
  uint64_t head = in_ring_->head.load(std::memory_order_acquire);
  if (head < in_tail_ || head - in_tail_ > kRingBytes)
    return fail("peer moved the producer index out of range");
  bool consumed = false;
  while (head - in_tail_ >= kHeaderBytes) {
    // Copy the header out of shared memory before looking at it: the peer
    // could change it between our check and our use.
    uint8_t hb[kHeaderBytes];
    size_t pos = in_tail_ % kRingBytes;
    size_t first = std::min(kHeaderBytes, kRingBytes - pos);
    memcpy(hb, in_data_ + pos, first);
    memcpy(hb + first, in_data_, kHeaderBytes - first);
    FrameHeader h;
    memcpy(&h, hb, sizeof h);
    if (h.length > kMaxFramePayload) return fail("frame longer than the frame limit");
    size_t size = frame_size(h.length);
    // Producers publish whole frames only; a partial one is corruption.
    if (head - in_tail_ < size) return fail("frame extends past the published data");
    const MsgRule* rule = msg_rule(h.type);
    if (!rule) return fail("unknown message type " + std::to_string(h.type));
    if (!(rule->senders & role_bit(peer_)))
      return fail(std::string("message ") + rule->name + " may not be sent by a " + role_name(peer_));
    if (assembling_ && (partial_.type != h.type || partial_.request_id != h.request_id))
      return fail("frame interleaved into another message");
    if (!assembling_) {
      partial_ = Message{h.type, h.request_id, {}};
      assembling_ = true;
    }
    if (partial_.payload.size() + h.length > rule->max_bytes)
      return fail(std::string("message ") + rule->name + " over its size limit");
    size_t ppos = (pos + kHeaderBytes) % kRingBytes;
    size_t pfirst = std::min((size_t)h.length, kRingBytes - ppos);
    partial_.payload.append((const char*)in_data_ + ppos, pfirst);
    partial_.payload.append((const char*)in_data_, h.length - pfirst);
    in_tail_ += size;
    consumed = true;
    if (!(h.flags & kFrameMore)) {
      out.push_back(std::move(partial_));
      partial_ = Message{};
      assembling_ = false;
    }
  }
  if (consumed) {
    in_ring_->tail.store(in_tail_, std::memory_order_seq_cst);
    if (in_ring_->want_space.exchange(0, std::memory_order_seq_cst)) ring_doorbell();
  }
  return ChannelStatus::ok;
}

ChannelStatus Channel::service(std::vector<Message>& out) {
  // Drain the doorbell before reading the ring: a bell rung after this
  // point stays in the socket and wakes us again, so no frame is missed.
  char buf[512];
  for (;;) {
    ssize_t n = read(doorbell_fd_, buf, sizeof buf);
    if (n > 0) continue;
    if (n == 0) peer_closed_ = true;
    else if (errno == EINTR) continue;
    else if (errno != EAGAIN && errno != EWOULDBLOCK) peer_closed_ = true;
    break;
  }
  if (!error_.empty()) return ChannelStatus::protocol_error;
  if (!flush()) return ChannelStatus::protocol_error;
  ChannelStatus st = read_frames(out);
  if (st != ChannelStatus::ok) return st;
  return peer_closed_ ? ChannelStatus::closed : ChannelStatus::ok;
}

#ifdef WFP_TEST_HOOKS
bool Channel::test_write_raw(std::string_view bytes) {
  // Whole frames queued before stay whole: the raw bytes go after them.
  if (!flush() || !pending_.empty()) return false;
  uint64_t tail = out_ring_->tail.load(std::memory_order_acquire);
  if (tail > out_head_ || kRingBytes - (out_head_ - tail) < bytes.size()) return false;
  size_t pos = out_head_ % kRingBytes;
  size_t first = std::min(bytes.size(), kRingBytes - pos);
  memcpy(out_data_ + pos, bytes.data(), first);
  memcpy(out_data_, bytes.data() + first, bytes.size() - first);
  out_head_ += bytes.size();
  out_ring_->head.store(out_head_, std::memory_order_release);
  ring_doorbell();
  return true;
}
#endif

bool Channel::wait(int timeout_ms) {
  pollfd p{doorbell_fd_, POLLIN, 0};
  for (;;) {
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

}  // namespace wfp
