// The random numbers of mlrec's CUDA GELU + dropout kernels, checked on the host: the kernels
// call the same functions (src/ops/philox.h).
#include "ops/philox.h"

#include <ATen/core/PhiloxRNGEngine.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>

namespace mlrec::ops::philox {
namespace {

std::array<uint32_t, 4> words(const Block& b) { return {b.x, b.y, b.z, b.w}; }

TEST(Philox, MatchesTheKnownAnswersOfRandom123) {
  // kat_vectors of Random123 1.09 for philox4x32_10.
  EXPECT_EQ(words(philox4x32_10({0, 0, 0, 0}, 0, 0)),
            (std::array<uint32_t, 4>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(words(philox4x32_10({~0u, ~0u, ~0u, ~0u}, ~0u, ~0u)),
            (std::array<uint32_t, 4>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(words(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, 0xa4093822, 0x299f31d0)),
            (std::array<uint32_t, 4>{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Philox, BlocksAreTorchsAndCurandsForTheSameSeedSubsequenceAndOffset) {
  // at::Philox4_32 counts its offset in blocks of four numbers; curand and torch's CUDA
  // generator in numbers (multiples of 4).
  for (uint64_t seed : {uint64_t(0), uint64_t(42), uint64_t(0x123456789abcdefULL)}) {
    for (uint64_t subsequence : {uint64_t(0), uint64_t(1), uint64_t(655359), uint64_t(1) << 40}) {
      for (uint64_t offset : {uint64_t(0), uint64_t(4), uint64_t(4000), (uint64_t(1) << 34) + 8}) {
        at::Philox4_32 torchs(seed, subsequence, offset / 4);
        std::array<uint32_t, 4> expected{};
        for (auto& w : expected) w = torchs();
        EXPECT_EQ(words(block(seed, subsequence, offset)), expected)
            << "seed " << seed << ", subsequence " << subsequence << ", offset " << offset;
      }
    }
  }
}

TEST(Philox, SixteenBitDropoutIsUnbiasedAndDropsAboutPAtEachOfTheEightPositions) {
  for (double p : {0.1, 0.3, 0.5}) {
    const Dropout16 d = dropout16(p);
    EXPECT_NEAR(d.threshold / 65536.0, p, 1.0 / 131072);
    EXPECT_NEAR((1.0 - d.threshold / 65536.0) * d.scale, 1.0, 1e-6);  // E[mask * scale] = 1
    const int groups = 1 << 16;
    std::array<int, 8> dropped{};
    for (int g = 0; g < groups; ++g) {
      const uint32_t bits = keep_bits8(7, 12, g, d.threshold);
      for (int j = 0; j < 8; ++j) dropped[j] += ((bits >> j) & 1u) == 0;
    }
    const double sd = std::sqrt(p * (1 - p) / groups);
    for (int j = 0; j < 8; ++j) EXPECT_NEAR(dropped[j] / double(groups), p, 5 * sd) << "p " << p << ", position " << j;
  }
  EXPECT_EQ(keep_bits8(7, 12, 3, 0), 0xFFu);  // threshold 0 keeps everything
}

TEST(Philox, AnyRunOfElementsGetsTheBitsOfItsElementsGroups) {
  const uint32_t threshold = dropout16(0.4).threshold;
  for (uint64_t first : {uint64_t(0), uint64_t(3), uint64_t(8), uint64_t(13), uint64_t(1200007)}) {
    for (int count : {1, 5, 8, 10, 17, 32, 56}) {
      const uint64_t bits = keep_bits(7, 12, first, count, threshold);
      for (int t = 0; t < 64; ++t) {
        const uint64_t e = first + static_cast<uint64_t>(t);
        const uint64_t expected = t < count ? (keep_bits8(7, 12, e / 8, threshold) >> (e % 8)) & 1u : 0u;
        ASSERT_EQ((bits >> t) & 1u, expected) << "first " << first << ", count " << count << ", bit " << t;
      }
    }
  }
}

TEST(Philox, MasksDependOnTheOffsetTheSeedAndTheGroup) {
  const uint32_t threshold = dropout16(0.5).threshold;
  int same_offset = 0, same_seed = 0, same_group = 0;
  const int groups = 4096;
  for (int g = 0; g < groups; ++g) {
    const uint32_t bits = keep_bits8(7, 12, g, threshold);
    same_offset += bits == keep_bits8(7, 16, g, threshold);
    same_seed += bits == keep_bits8(8, 12, g, threshold);
    same_group += bits == keep_bits8(7, 12, g + groups, threshold);
  }
  // Independent masks of 8 fair bits agree 1 time in 256: ~16 of 4,096.
  EXPECT_LT(same_offset, 48);
  EXPECT_LT(same_seed, 48);
  EXPECT_LT(same_group, 48);
}

}  // namespace
}  // namespace mlrec::ops::philox
