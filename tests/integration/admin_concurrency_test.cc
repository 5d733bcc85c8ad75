// Concurrent admin writers and readers (attack catalogue 55): several
// wfpctl clients deploy, retag and delete scripts while others list them,
// read their source and take backups, all at once through the admin API.
// No command may fail for the store's sake (SQLITE_BUSY surfaced instead
// of waited out), every acknowledged deploy is what a read returns at the
// end, and the write-ahead log stays bounded: checkpoints are not starved
// by readers and backups. 8 s in make test; 10 minutes with
// WFP_LONG_TESTS=1 (make check-all).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/wfpd_fixture.h"
#include "tests/support/sqlite_file.h"

namespace wfp::test {
namespace {

constexpr int kWriters = 3;
constexpr int kNamesPerWriter = 6;
constexpr int kMinDeploys = 60;  // ~2.4 MB of source, ~3x that with bytecode

// A deploy's source: names itself and its sequence number, padded with
// 20-60 KB of comment so that a few hundred deploys write many times the
// WAL's checkpoint threshold (1,000 pages).
std::string source_of(const std::string& name, int seq, std::mt19937& rng) {
  std::string pad(20000 + rng() % 40000, ' ');
  for (char& c : pad) c = static_cast<char>('a' + rng() % 26);
  return "addEventListener('fetch', function (e) { e.respondWith(new Response('" + name + " " +
         std::to_string(seq) + "')); });\n/* " + pad + " */\n";
}

bool mentions_the_store(const std::string& s) {
  for (const char* word : {"busy", "locked", "store:", "SQLITE", "disk I/O"})
    if (s.find(word) != std::string::npos) return true;
  return false;
}

TEST(AdminConcurrency, WritersReadersAndBackupsNeverSeeTheStoreBusyAndTheWalStaysBounded) {
  const bool long_run = getenv("WFP_LONG_TESTS") != nullptr;
  const auto duration = std::chrono::seconds(long_run ? 600 : 8);
  Wfpd d("admin_rate_limit = 0\n");
  expect_ok(d.ctl({"namespace", "create", "conc"}), &d);

  std::mutex mu;
  std::vector<std::string> failures;  // "command: output", at most a few kept
  std::map<std::string, std::string> acknowledged;  // name -> source, "" = deleted
  std::atomic<int> deploys{0}, deletes{0}, retags{0}, lists{0}, gets{0}, backups{0};
  auto fail = [&](const std::vector<std::string>& args, const CmdResult& r) {
    std::lock_guard<std::mutex> lock(mu);
    std::string line;
    for (auto& a : args) line += a + " ";
    if (failures.size() < 5) failures.push_back(line + "-> " + std::to_string(r.status) + ": " + r.out + r.err);
    else failures.push_back("");
  };
  // The duration, and on a slow machine (a sanitizer build, a shared CI
  // host) longer, until enough deploys went through to pass the WAL's
  // checkpoint threshold several times; never more than two minutes over.
  auto deadline = std::chrono::steady_clock::now() + duration;
  auto running = [&] {
    auto now = std::chrono::steady_clock::now();
    return now < deadline || (deploys.load() < kMinDeploys && now < deadline + std::chrono::minutes(2));
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; w++) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(w + 1);
      for (int seq = 0; running(); seq++) {
        std::string name = "w" + std::to_string(w) + "-" + std::to_string(rng() % kNamesPerWriter);
        int what = rng() % 10;
        if (what < 7) {
          std::string source = source_of(name, seq, rng);
          std::string file = d.write_file(name + ".js", source);
          std::vector<std::string> args = {"script", "deploy", "conc", name, file, "--tag", "t" + std::to_string(seq % 3)};
          CmdResult r = d.ctl(args);
          if (r.status != 0) {
            fail(args, r);
            continue;
          }
          deploys++;
          std::lock_guard<std::mutex> lock(mu);
          acknowledged[name] = source;
        } else if (what < 9) {
          std::vector<std::string> args = {"script", "tags", "conc", name, "a", "b" + std::to_string(seq)};
          CmdResult r = d.ctl(args);
          bool absent = r.err.find("not found") != std::string::npos || r.err.find("no script") != std::string::npos;
          if (r.status != 0 && (!absent || mentions_the_store(r.err))) fail(args, r);
          if (r.status == 0) retags++;
        } else {
          std::vector<std::string> args = {"script", "delete", "conc", name};
          CmdResult r = d.ctl(args);
          bool absent = r.err.find("not found") != std::string::npos || r.err.find("no script") != std::string::npos;
          if (r.status != 0 && (!absent || mentions_the_store(r.err))) {
            fail(args, r);
            continue;
          }
          deletes++;
          std::lock_guard<std::mutex> lock(mu);
          acknowledged[name] = "";
        }
      }
    });
  }
  threads.emplace_back([&] {
    std::mt19937 rng(99);
    while (running()) {
      std::vector<std::string> args = {"script", "list", "conc", "--tag", "t" + std::to_string(rng() % 3)};
      CmdResult r = d.ctl(args);
      if (r.status != 0) fail(args, r);
      else lists++;
      std::string name = "w" + std::to_string(rng() % kWriters) + "-" + std::to_string(rng() % kNamesPerWriter);
      args = {"script", "get", "conc", name, "--source"};
      r = d.ctl(args);
      bool absent = r.err.find("not found") != std::string::npos || r.err.find("no script") != std::string::npos;
      if (r.status != 0 && (!absent || mentions_the_store(r.err))) fail(args, r);
      else gets++;
    }
  });
  threads.emplace_back([&] {
    for (int i = 0; running(); i++) {
      std::string file = d.dir() + "/backup-" + std::to_string(i % 2) + ".db";
      std::remove(file.c_str());
      std::vector<std::string> args = {"backup", file};
      CmdResult r = d.ctl(args);
      if (r.status != 0) fail(args, r);
      else backups++;
    }
  });
  // The WAL's size, sampled every 20 ms.
  off_t wal_max = 0;
  std::string wal = d.dir() + "/data/store.db-wal";
  while (running()) {
    struct stat st;
    if (stat(wal.c_str(), &st) == 0) wal_max = std::max(wal_max, st.st_size);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& t : threads) t.join();

  std::printf("admin concurrency: %d deploys, %d deletes, %d retags, %d lists, %d gets, %d backups; "
              "WAL at most %lld KiB\n",
              deploys.load(), deletes.load(), retags.load(), lists.load(), gets.load(), backups.load(),
              (long long)(wal_max / 1024));
  EXPECT_TRUE(failures.empty()) << failures.size() << " commands failed, the first: " << failures[0] << "\n"
                                << d.log();
  EXPECT_GT(deploys.load(), 0) << "no deploy went through";
  EXPECT_GT(backups.load(), 0);
  EXPECT_EQ(d.log().find("database is locked"), std::string::npos) << d.log();
  // 1,000 pages of 4 KiB before a checkpoint; a WAL several times that
  // means checkpoints could not reset it.
  EXPECT_LE(wal_max, 16 << 20) << "the WAL grew to " << wal_max << " bytes";

  // Every acknowledged deploy is there, byte for byte; every deleted name gone.
  for (auto& [name, source] : acknowledged) {
    CmdResult r = d.ctl({"script", "get", "conc", name, "--source"});
    if (source.empty()) {
      EXPECT_NE(r.status, 0) << name << " was deleted, yet: " << r.out.substr(0, 200);
    } else {
      EXPECT_EQ(r.status, 0) << name << ": " << r.err;
      EXPECT_TRUE(r.out == source || r.out == source + "\n") << name << ": the last acknowledged deploy is not what is stored";
    }
  }
  // The last backup is a whole, consistent store.
  std::string last = d.dir() + "/backup-" + std::to_string((backups.load() - 1) % 2) + ".db";
  EXPECT_EQ(integrity_check(last), "ok");
}

}  // namespace
}  // namespace wfp::test
