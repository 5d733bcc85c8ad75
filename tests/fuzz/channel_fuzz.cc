// libFuzzer target: frame decoding in the shared-memory rings (ipc/channel.cc),
// on both sides. A real Channel pair is made (Channel::create, then
// Channel::attach on the child's fds, as the zygote does); the target then
// plays the hostile peer of one of them: it maps the same segment itself and
// writes whatever the input says into the receiver's incoming ring and
// indices (frames, raw bytes, a lying head, a lying tail on the receiver's
// outgoing ring), calling service() in between, as the receiver's event
// loop would. Whatever the peer writes, the receiver must only ever hand
// out messages the catalogue allows (known type, sender allowed, within the
// size limit), or stop with protocol_error.
//
// Input: [side/role byte] then operations, each [op byte] [arguments].
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ipc/channel.h"
#include "ipc/messages.h"

namespace {

using wfp::Channel;
using wfp::ChannelStatus;
using wfp::Role;

// The segment's layout (ipc/channel.cc): [ring header 256][data] twice; the
// first ring carries supervisor → child, the second child → supervisor. In
// each header: head at 0, tail at 64, want_space at 128.
constexpr size_t kStride = 256;
constexpr size_t kRing = Channel::kRingBytes;
constexpr size_t kSegment = 2 * (kStride + kRing);
constexpr size_t kHead = 0, kTail = 64, kWantSpace = 128;

struct Input {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t u8() {
    if (!n) return 0;
    n--;
    return *p++;
  }
  uint64_t bytes_le(size_t k) {
    uint64_t v = 0;
    for (size_t i = 0; i < k; i++) v |= uint64_t(u8()) << (8 * i);
    return v;
  }
  std::string take(size_t k) {
    k = std::min(k, n);
    std::string s((const char*)p, k);
    p += k;
    n -= k;
    return s;
  }
};

// The hostile peer's view of one direction of the segment.
struct PeerRing {
  uint8_t* header;  // the ring the receiver reads
  uint8_t* data;
  uint8_t* back_header;  // the ring the receiver writes (we consume it)
  uint64_t head = 0;

  void store(uint8_t* h, size_t off, uint64_t v) {
    __atomic_store_n((uint64_t*)(h + off), v, __ATOMIC_RELEASE);
  }
  uint64_t load(uint8_t* h, size_t off) {
    return __atomic_load_n((uint64_t*)(h + off), __ATOMIC_ACQUIRE);
  }
  void write(const std::string& bytes) {
    for (size_t i = 0; i < bytes.size(); i++) data[(head + i) % kRing] = (uint8_t)bytes[i];
    head += bytes.size();
  }
  void publish() { store(header, kHead, head); }
};

// Types the receiving side may send back (to exercise its flush against a
// lying consumer index).
constexpr wfp::MsgType kSupervisorSends = wfp::MsgType::request;
constexpr wfp::MsgType kChildSends = wfp::MsgType::log;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in{data, size};
  uint8_t mode = in.u8();
  // Which side receives, and the child's role.
  bool supervisor_receives = !(mode & 1);
  static const Role kChildRoles[] = {Role::dispatcher, Role::sandbox, Role::compiler, Role::zygote};
  Role child_role = kChildRoles[(mode >> 1) & 3];

  std::string error;
  std::unique_ptr<Channel> sup = Channel::create(child_role, error);
  if (!sup) {
    fprintf(stderr, "channel_fuzz: %s\n", error.c_str());
    abort();
  }
  int map_fd = dup(sup->child_shm_fd());
  std::unique_ptr<Channel> child =
      Channel::attach(dup(sup->child_shm_fd()), dup(sup->child_doorbell_fd()), child_role, error);
  if (!child || map_fd < 0) {
    fprintf(stderr, "channel_fuzz: attach: %s\n", error.c_str());
    abort();
  }
  sup->close_child_ends();
  void* m = mmap(nullptr, kSegment, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  close(map_fd);
  if (m == MAP_FAILED) abort();
  uint8_t* base = (uint8_t*)m;
  uint8_t* down = base;                   // supervisor → child
  uint8_t* up = base + kStride + kRing;   // child → supervisor

  Channel& rx = supervisor_receives ? *sup : *child;
  Role sender = supervisor_receives ? child_role : Role::supervisor;
  PeerRing peer = supervisor_receives ? PeerRing{up, up + kStride, down}
                                      : PeerRing{down, down + kStride, up};

  std::vector<wfp::Message> got;
  auto check = [&] {
    for (const wfp::Message& msg : got) {
      const wfp::MsgRule* rule = wfp::msg_rule(msg.type);
      if (!rule) __builtin_trap();
      if (!(rule->senders & wfp::role_bit(sender))) __builtin_trap();
      if (msg.payload.size() > rule->max_bytes) __builtin_trap();
    }
    got.clear();
  };

  bool dead = false;
  for (int ops = 0; !in.empty() && ops < 256 && !dead; ops++) {
    switch (in.u8() % 8) {
      case 0: {  // a frame: 16 header bytes as given, the payload its length says (capped)
        std::string header = in.take(16);
        header.resize(16, '\0');
        uint32_t len;
        memcpy(&len, header.data(), 4);
        std::string payload = in.take(std::min<uint32_t>(len, 4096));
        payload.resize(len <= 4096 ? len : payload.size(), '\0');
        payload.resize((payload.size() + 7) & ~size_t(7), '\0');
        peer.write(header + payload);
        peer.publish();
        break;
      }
      case 1:  // raw bytes, unpublished
        peer.write(in.take(in.u8()));
        break;
      case 2:
        peer.publish();
        break;
      case 3:  // a lying producer index, near the truth or anywhere
        if (in.u8() & 1)
          peer.store(peer.header, kHead, peer.head + (int64_t)(int16_t)in.bytes_le(2));
        else
          peer.store(peer.header, kHead, in.bytes_le(8));
        break;
      case 4: {  // the receiver sends while its consumer index lies
        uint64_t tail = peer.load(peer.back_header, kHead) + (int64_t)(int16_t)in.bytes_le(2);
        peer.store(peer.back_header, kTail, tail);
        std::string payload(size_t(in.u8()) * 64, 'x');
        rx.send(supervisor_receives ? kSupervisorSends : kChildSends, 7, payload);
        break;
      }
      case 5:  // the honest consumer: everything the receiver wrote is read
        peer.store(peer.back_header, kTail, peer.load(peer.back_header, kHead));
        break;
      case 6:
        peer.store(peer.header, kWantSpace, in.u8() & 1);
        break;
      case 7: {
        ChannelStatus st = rx.service(got);
        check();
        // The caller kills a peer that broke the protocol; a closed peer
        // cannot happen here (both ends stay open).
        if (st == ChannelStatus::protocol_error) {
          if (rx.error().empty()) __builtin_trap();
          dead = true;
        }
        break;
      }
    }
  }
  if (!dead) {
    rx.service(got);
    check();
  }
  munmap(m, kSegment);
  return 0;
}
