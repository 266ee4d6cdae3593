#include "runtime/replay_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "crypto/ohttp.h"
#include "runtime/key_ring.h"
#include "testing/test_util.h"

namespace crypta::runtime {
namespace {

TEST(ReplayCacheTest, RecordsAKeyOnceAndRefusesItsReplay) {
  ReplayCache cache(4);
  const Bytes a(32, 1), b(32, 2);
  EXPECT_EQ(cache.Insert(a), ReplayCache::Outcome::kFresh);
  EXPECT_EQ(cache.Insert(b), ReplayCache::Outcome::kFresh);
  EXPECT_EQ(cache.Insert(a), ReplayCache::Outcome::kReplay);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.full());
}

TEST(ReplayCacheTest, RefusesNewKeysOnceFullButStillReportsReplays) {
  ReplayCache cache(2);
  EXPECT_EQ(cache.Insert(Bytes{1}), ReplayCache::Outcome::kFresh);
  EXPECT_EQ(cache.Insert(Bytes{2}), ReplayCache::Outcome::kFresh);
  EXPECT_TRUE(cache.full());
  EXPECT_EQ(cache.Insert(Bytes{3}), ReplayCache::Outcome::kFull);
  EXPECT_EQ(cache.Insert(Bytes{1}), ReplayCache::Outcome::kReplay);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(ReplayCacheTest, ZeroCapacityMeansOne) {
  ReplayCache cache(0);
  EXPECT_EQ(cache.capacity(), 1u);
  EXPECT_EQ(cache.Insert(Bytes{9}), ReplayCache::Outcome::kFresh);
  EXPECT_EQ(cache.Insert(Bytes{8}), ReplayCache::Outcome::kFull);
}

TEST(ReplayCacheTest, ConcurrentInsertsOfOneKeyAdmitExactlyOne) {
  ReplayCache cache(1000);
  std::atomic<int> fresh{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      if (cache.Insert(Bytes(32, 7)) == ReplayCache::Outcome::kFresh) ++fresh;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fresh.load(), 1);
}

// The key ring: a replay is refused, and a full cache moves to a new key epoch whose key
// no longer opens requests sealed to the old one.
Result<OhttpEncapsulatedRequest> Seal(const KeyEpoch& epoch) {
  CRYPTA_ASSIGN_OR_RETURN(OhttpKeyConfig config, ParseOhttpKeyConfig(epoch.encoded_config));
  return EncapsulateOhttpRequest(config, AsBytes("bhttp"));
}

TEST(OhttpKeyRingTest, RefusesAReplayedRequest) {
  CRYPTA_ASSIGN_OR_FAIL(auto ring, OhttpKeyRing::Create(16));
  CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest req, Seal(*ring->Current()));
  CRYPTA_ASSIGN_OR_FAIL(OpenedRequest opened, ring->Open(req.encapsulated_request));
  EXPECT_EQ(ToString(opened.bhttp_request), "bhttp");
  EXPECT_EQ(opened.epoch, 1u);
  auto again = ring->Open(req.encapsulated_request);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ring->replays(), 1u);
}

TEST(OhttpKeyRingTest, RotatesWhenTheReplayCacheFills) {
  CRYPTA_ASSIGN_OR_FAIL(auto ring, OhttpKeyRing::Create(2));
  std::shared_ptr<KeyEpoch> first = ring->Current();
  CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest a, Seal(*first));
  CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest b, Seal(*first));
  CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest c, Seal(*first));
  CRYPTA_ASSERT_OK(ring->Open(a.encapsulated_request));
  CRYPTA_ASSERT_OK(ring->Open(b.encapsulated_request));  // fills the cache: rotates
  EXPECT_EQ(ring->Current()->number, 2u);
  EXPECT_EQ(ring->Current()->gateway.key_config().key_id, 2);
  EXPECT_NE(ring->Current()->encoded_config, first->encoded_config);
  EXPECT_EQ(ring->rotations(), 1u);
  // Sealed to the retired key: refused (its key id is unknown now), replays included.
  EXPECT_EQ(ring->Open(c.encapsulated_request).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(ring->Open(a.encapsulated_request).error().code(), ErrorCode::kNotFound);
  CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest d, Seal(*ring->Current()));
  CRYPTA_ASSIGN_OR_FAIL(OpenedRequest opened, ring->Open(d.encapsulated_request));
  EXPECT_EQ(opened.epoch, 2u);
}

TEST(OhttpKeyRingTest, RefusesATamperedRequestWithoutRecordingIt) {
  CRYPTA_ASSIGN_OR_FAIL(auto ring, OhttpKeyRing::Create(16));
  CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest req, Seal(*ring->Current()));
  Bytes tampered = req.encapsulated_request;
  tampered.back() ^= 1;
  EXPECT_EQ(ring->Open(tampered).error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(ring->Current()->seen.size(), 0u);
  CRYPTA_EXPECT_OK(ring->Open(req.encapsulated_request));
}

}  // namespace
}  // namespace crypta::runtime
