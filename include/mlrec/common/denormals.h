#pragma once

namespace mlrec {

/// Makes this thread's float arithmetic treat denormal (subnormal) numbers, those below
/// 1.2e-38, as 0 on input and output (x86's FTZ and DAZ bits; torch.set_flush_denormal(True)
/// in Python), and returns whether it could (false on other architectures).
///
/// Why: x86 cores handle denormals through microcode assists, ~100x slower than normal floats.
/// In CPU training they appear by themselves as values shrink over the steps (candidates: AdamW's
/// moment estimates of embedding rows that get no gradient, which decay by beta1 every step;
/// softmax weights far below their row's maximum; which of them it is was not measured). A
/// 600-step BST run slowed down by ~12 % over its second half without this, not at all with it
/// (BENCHMARKS.md). Nothing this small carries information in training.
///
/// Threads inherit the setting from the thread that creates them (Linux copies the FP control
/// state), so call it first thing in main, before torch starts its OpenMP threads.
bool flush_denormals_to_zero();

/// Whether this thread currently flushes denormals (for tests and logs).
bool denormals_flushed();

}  // namespace mlrec
