#include "mlrec/ops/cuda_kernels.h"

#include <array>
#include <atomic>
#include <string>

#include "mlrec/common/logging.h"
#include "ops/cuda/kernel_image.h"

namespace mlrec::ops {

bool cuda_kernels_run_on(int device) {
  // Asked by every op's dispatch on every call: the answer is cached per device (0 = not yet
  // asked). Two threads asking at once only ask twice.
  static std::array<std::atomic<int>, 64> known{};
  if (!cuda_kernels_built() || device < 0 || device >= static_cast<int>(known.size())) return false;
  int state = known[device].load(std::memory_order_acquire);
  if (state == 0) {
    std::string why;
    const int found = detail::kernel_image_for(device, &why) ? 1 : 2;
    int expected = 0;
    if (known[device].compare_exchange_strong(expected, found)) {
      if (found == 2) log_warning(why);  // once per device
      state = found;
    } else {
      state = expected;
    }
  }
  return state == 1;
}

}  // namespace mlrec::ops
