// Unit tests of the IPC channel: both ends in one process over a real
// shared-memory segment and doorbell, plus a raw mapping of the segment to
// play the hostile peer that corrupts indices or frames.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "ipc/channel.h"
#include "ipc/wire.h"

namespace wfp {
namespace {

struct Pair {
  std::unique_ptr<Channel> sup;    // the supervisor's end (peer: sandbox)
  std::unique_ptr<Channel> child;  // the sandbox's end
  uint8_t* raw = nullptr;          // an extra mapping, for corruption
  size_t raw_len = 0;
  Pair() {
    std::string err;
    sup = Channel::create(Role::sandbox, err);
    EXPECT_TRUE(sup) << err;
    int shm = dup(sup->child_shm_fd());
    int bell = dup(sup->child_doorbell_fd());
    raw_len = 2 * (256 + Channel::kRingBytes);
    raw = (uint8_t*)mmap(nullptr, raw_len, PROT_READ | PROT_WRITE, MAP_SHARED, sup->child_shm_fd(), 0);
    sup->close_child_ends();
    child = Channel::attach(shm, bell, Role::sandbox, err);
    EXPECT_TRUE(child) << err;
  }
  ~Pair() { munmap(raw, raw_len); }
  // The up ring (child → supervisor) header.
  std::atomic<uint64_t>* up_head() { return (std::atomic<uint64_t>*)(raw + 256 + Channel::kRingBytes); }
  uint8_t* up_data() { return raw + 2 * 256 + Channel::kRingBytes; }
};

std::vector<Message> drain(Channel& ch, ChannelStatus* st = nullptr) {
  std::vector<Message> out;
  ChannelStatus s = ch.service(out);
  if (st) *st = s;
  return out;
}

TEST(Channel, DeliversAMessageFromSupervisorToChild) {
  Pair p;
  p.sup->send(MsgType::request, 42, "hello");
  ASSERT_TRUE(p.child->wait(1000));
  auto msgs = drain(*p.child);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, (uint16_t)MsgType::request);
  EXPECT_EQ(msgs[0].request_id, 42u);
  EXPECT_EQ(msgs[0].payload, "hello");
}

TEST(Channel, ReassemblesAMessageLargerThanTheRing) {
  Pair p;
  std::string big(3 * Channel::kRingBytes + 12345, 'x');
  for (size_t i = 0; i < big.size(); i++) big[i] = (char)(i * 7);
  p.child->send(MsgType::response, 7, big);
  EXPECT_TRUE(p.child->has_pending_output());  // the ring filled up
  std::vector<Message> got;
  for (int i = 0; i < 1000 && got.empty(); i++) {
    ASSERT_EQ(p.sup->service(got), ChannelStatus::ok);
    std::vector<Message> none;
    p.child->service(none);  // the supervisor's bell says there is room again
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, big);
  EXPECT_FALSE(p.child->has_pending_output());
}

TEST(Channel, KeepsOrderAcrossManyMessages) {
  Pair p;
  std::vector<Message> got;
  for (uint64_t i = 0; i < 5000; i++) {
    p.child->send(MsgType::log, i, WireWriter().str("info").str(std::to_string(i)).data());
    if (i % 100 == 0) p.sup->service(got);
  }
  while (got.size() < 5000) {
    p.sup->service(got);
    std::vector<Message> none;
    p.child->service(none);
  }
  for (uint64_t i = 0; i < 5000; i++) ASSERT_EQ(got[i].request_id, i);
}

TEST(Channel, RejectsAProducerIndexBeyondTheRing) {
  Pair p;
  p.up_head()->store(Channel::kRingBytes * 4);
  ChannelStatus st;
  drain(*p.sup, &st);
  EXPECT_EQ(st, ChannelStatus::protocol_error);
  EXPECT_NE(p.sup->error().find("producer index"), std::string::npos);
}

TEST(Channel, RejectsAnUnknownMessageType) {
  Pair p;
  uint32_t len = 0;
  uint16_t type = 999, flags = 0;
  uint64_t id = 1;
  memcpy(p.up_data(), &len, 4);
  memcpy(p.up_data() + 4, &type, 2);
  memcpy(p.up_data() + 6, &flags, 2);
  memcpy(p.up_data() + 8, &id, 8);
  p.up_head()->store(16);
  ChannelStatus st;
  drain(*p.sup, &st);
  EXPECT_EQ(st, ChannelStatus::protocol_error);
}

TEST(Channel, RejectsAMessageTheSenderMayNotSend) {
  Pair p;
  // A sandbox may not send what only the supervisor sends.
  p.child->send(MsgType::load_worker, 1, "x");
  ChannelStatus st;
  drain(*p.sup, &st);
  EXPECT_EQ(st, ChannelStatus::protocol_error);
  EXPECT_NE(p.sup->error().find("may not be sent"), std::string::npos);
}

TEST(Channel, RejectsAFrameLongerThanTheFrameLimit) {
  Pair p;
  uint32_t len = kMaxFramePayload + 1;
  uint16_t type = (uint16_t)MsgType::response, flags = 0;
  memcpy(p.up_data(), &len, 4);
  memcpy(p.up_data() + 4, &type, 2);
  memcpy(p.up_data() + 6, &flags, 2);
  p.up_head()->store(Channel::kRingBytes);
  ChannelStatus st;
  drain(*p.sup, &st);
  EXPECT_EQ(st, ChannelStatus::protocol_error);
}

TEST(Channel, RejectsAMessageOverItsSizeLimit) {
  Pair p;
  p.child->send(MsgType::load_result, 1, std::string(65 * 1024, 'a'));  // limit 64 KiB
  ChannelStatus st;
  drain(*p.sup, &st);
  EXPECT_EQ(st, ChannelStatus::protocol_error);
}

TEST(Channel, RejectsAFrameThatClaimsMoreThanWasPublished) {
  Pair p;
  uint32_t len = 100;
  uint16_t type = (uint16_t)MsgType::response, flags = 0;
  memcpy(p.up_data(), &len, 4);
  memcpy(p.up_data() + 4, &type, 2);
  memcpy(p.up_data() + 6, &flags, 2);
  p.up_head()->store(40);  // header + 24 bytes: a frame cut short
  ChannelStatus st;
  drain(*p.sup, &st);
  EXPECT_EQ(st, ChannelStatus::protocol_error);
}

TEST(Channel, ReportsClosedWhenThePeerDiesMidMessage) {
  Pair p;
  // The first frame of a two-frame message is published, then the peer
  // dies before the second: nothing half-made may be delivered.
  uint32_t len = 8;
  uint16_t type = (uint16_t)MsgType::response, flags = 1;  // more frames follow
  uint64_t id = 3;
  memcpy(p.up_data(), &len, 4);
  memcpy(p.up_data() + 4, &type, 2);
  memcpy(p.up_data() + 6, &flags, 2);
  memcpy(p.up_data() + 8, &id, 8);
  p.up_head()->store(24);
  p.child.reset();
  ChannelStatus st;
  auto msgs = drain(*p.sup, &st);
  EXPECT_TRUE(msgs.empty());
  EXPECT_EQ(st, ChannelStatus::closed);
}

TEST(Channel, RejectsFramesOfTwoMessagesInterleaved) {
  Pair p;
  auto put = [&](size_t at, uint16_t type, uint16_t flags, uint64_t id) {
    uint32_t len = 8;
    memcpy(p.up_data() + at, &len, 4);
    memcpy(p.up_data() + at + 4, &type, 2);
    memcpy(p.up_data() + at + 6, &flags, 2);
    memcpy(p.up_data() + at + 8, &id, 8);
  };
  put(0, (uint16_t)MsgType::response, 1 /* more */, 1);
  put(24, (uint16_t)MsgType::response, 0, 2);  // another request's frame
  p.up_head()->store(48);
  ChannelStatus st;
  drain(*p.sup, &st);
  EXPECT_EQ(st, ChannelStatus::protocol_error);
}

TEST(WireReader, FailsOnTruncatedAndOverlongStrings) {
  std::string ok = WireWriter().str("abc").u32(5).data();
  WireReader r(ok);
  EXPECT_EQ(r.str(), "abc");
  EXPECT_EQ(r.u32(), 5u);
  EXPECT_TRUE(r.done());
  WireReader cut(std::string_view(ok).substr(0, 5));
  cut.str();
  EXPECT_FALSE(cut.ok());
  std::string huge = WireWriter().u32(0xffffffff).data();
  WireReader h(huge);
  h.str();
  EXPECT_FALSE(h.ok());
  WireReader capped(ok);
  capped.str(2);
  EXPECT_FALSE(capped.ok());
}

}  // namespace
}  // namespace wfp
