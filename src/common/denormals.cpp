#include "mlrec/common/denormals.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define MLREC_HAS_MXCSR 1
#endif

namespace mlrec {

#ifdef MLREC_HAS_MXCSR
namespace {
constexpr unsigned kFlushToZero = 0x8000;       // MXCSR.FTZ: denormal results become 0
constexpr unsigned kDenormalsAreZero = 0x0040;  // MXCSR.DAZ: denormal inputs are read as 0
}  // namespace

bool flush_denormals_to_zero() {
  _mm_setcsr(_mm_getcsr() | kFlushToZero | kDenormalsAreZero);
  return true;
}

bool denormals_flushed() {
  const unsigned both = kFlushToZero | kDenormalsAreZero;
  return (_mm_getcsr() & both) == both;
}
#else
bool flush_denormals_to_zero() { return false; }
bool denormals_flushed() { return false; }
#endif

}  // namespace mlrec
