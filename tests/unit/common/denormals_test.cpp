#include "mlrec/common/denormals.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <thread>

namespace mlrec {
namespace {

// A product that is a denormal float (~1e-40) unless denormals are flushed.
float tiny_product() {
  volatile float a = 1e-20f, b = 1e-20f;
  return a * b;
}

#if defined(__x86_64__) || defined(__i386__)
// In a child process (EXPECT_EXIT forks): the setting is per thread and process-wide in effect.
TEST(Denormals, FlushedInThisThreadAndInThreadsStartedAfterwards) {
  EXPECT_EXIT(
      {
        bool ok = !denormals_flushed() && tiny_product() > 0.0f;  // the default: kept
        ok = ok && flush_denormals_to_zero() && denormals_flushed() && tiny_product() == 0.0f;
        bool in_new_thread = false;
        std::thread([&] { in_new_thread = denormals_flushed() && tiny_product() == 0.0f; }).join();
        std::_Exit(ok && in_new_thread ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Denormals, NormalFloatsAreUntouched) {
  EXPECT_EXIT(
      {
        flush_denormals_to_zero();
        volatile float smallest = std::numeric_limits<float>::min();  // the smallest normal float
        volatile float two = 2.0f;
        std::_Exit(smallest * two == 2.0f * std::numeric_limits<float>::min() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}
#endif

}  // namespace
}  // namespace mlrec
