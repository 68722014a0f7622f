#!/usr/bin/env python3
"""A line-by-line Python port of src/ops/cuda/short_attention_kernels.cu's loops (one "block" per
sample, loops in place of threads, the same shared-memory index arithmetic), checked against a
direct attention (forward) and central differences (backward), with fixed dropout masks in
place of philox. It checks the kernels' indexing where no GPU is at hand; it is not a test of
the CUDA code itself (the ShortAttention CUDA tests are). Keep it in step with the kernels.

  .venv/bin/python bench/short_attention_port.py    # prints both checks; exit 1 if one fails
"""
import numpy as np

rng = np.random.default_rng(0)
B, L, H, D = 3, 10, 12, 10          # samples, tokens, heads, head dim (the study's shape)
DIM, ROW = H * D, 3 * H * D
P_DROP = 0.3
SCALE = 1 / np.sqrt(D)
qkv = rng.standard_normal((B, L, ROW))
pad = rng.random((B, L)) < 0.4
pad[:, L - 1] = False                 # the target token is never padded
keep = rng.random((B, H, L, L)) > P_DROP


def forward(qkv):
    """attention_forward: returns out [B*L*DIM], probs and dropped [B*H*L*L], flat."""
    out, probs, dropped = np.zeros(B * L * DIM), np.zeros(B * H * L * L), np.zeros(B * H * L * L)
    for b in range(B):
        s_qkv = qkv.reshape(-1)[b * L * ROW:(b + 1) * L * ROW]
        s_dropped = np.zeros(H * L * L)
        for r in range(H * L):
            h, i = r // L, r % L
            s = np.full(L, -np.inf)
            for j in range(L):
                if not pad[b, j]:
                    s[j] = SCALE * sum(s_qkv[i * ROW + h * D + d] * s_qkv[j * ROW + DIM + h * D + d]
                                       for d in range(D))
            e = np.where(pad[b], 0.0, np.exp(s - s.max()))
            base = b * H * L * L + r * L
            for j in range(L):
                p = e[j] / e.sum()
                kept = p / (1 - P_DROP) if keep[b, h, i, j] else 0.0
                probs[base + j], dropped[base + j], s_dropped[r * L + j] = p, kept, kept
        for el in range(L * DIM):
            i, c = el // DIM, el % DIM
            h = c // D
            weights = s_dropped[(h * L + i) * L:(h * L + i) * L + L]
            out[b * L * DIM + el] = sum(weights[j] * s_qkv[j * ROW + 2 * DIM + c] for j in range(L))
    return out, probs, dropped


def backward(grad_out, qkv, probs, dropped):
    """attention_backward: the gradient with respect to qkv, flat [B*L*ROW]."""
    grad = np.zeros(B * L * ROW)
    square = L * L
    for b in range(B):
        s_qkv = qkv.reshape(-1)[b * L * ROW:(b + 1) * L * ROW]
        s_grad = grad_out[b * L * DIM:(b + 1) * L * DIM]
        s_dropped = dropped[b * H * square:(b + 1) * H * square]
        s_ds = np.zeros(H * square)
        for r in range(H * L):
            h, i = r // L, r % L
            dp, p = np.zeros(L), np.zeros(L)
            for j in range(L):
                acc = sum(s_grad[i * DIM + h * D + d] * s_qkv[j * ROW + 2 * DIM + h * D + d] for d in range(D))
                dp[j] = acc / (1 - P_DROP) if s_dropped[r * L + j] != 0 else 0.0
                p[j] = probs[b * H * square + r * L + j]
            s_ds[r * L:r * L + L] = p * (dp - (p * dp).sum())
        for el in range(L * DIM):
            n, c = el // DIM, el % DIM
            h = c // D
            dq = sum(s_ds[(h * L + n) * L + m] * s_qkv[m * ROW + DIM + c] for m in range(L))
            dk = sum(s_ds[h * square + n + m * L] * s_qkv[m * ROW + c] for m in range(L))
            dv = sum(s_dropped[h * square + n + m * L] * s_grad[m * DIM + c] for m in range(L))
            at = b * L * ROW + n * ROW + c
            grad[at], grad[at + DIM], grad[at + 2 * DIM] = dq * SCALE, dk * SCALE, dv
    return grad


def direct(qkv):
    """The same attention with numpy's matrix products."""
    q, k, v = (qkv[:, :, n * DIM:(n + 1) * DIM].reshape(B, L, H, D).transpose(0, 2, 1, 3) for n in range(3))
    s = np.where(pad[:, None, None, :], -np.inf, q @ k.transpose(0, 1, 3, 2) * SCALE)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return (np.where(keep, p / (1 - P_DROP), 0) @ v).transpose(0, 2, 1, 3).reshape(-1)


out, probs, dropped = forward(qkv)
forward_error = np.abs(out - direct(qkv)).max()
weights = rng.standard_normal(B * L * DIM)
direction = rng.standard_normal(qkv.shape)
analytic = backward(weights, qkv, probs, dropped) @ direction.reshape(-1)
eps = 1e-5
numeric = (direct(qkv + eps * direction) @ weights - direct(qkv - eps * direction) @ weights) / (2 * eps)
print(f"forward: max error {forward_error:.2e}; backward: gradient . d {analytic:.9f}, "
      f"central difference {numeric:.9f}")
ok = forward_error < 1e-9 and abs(analytic - numeric) < 1e-6 * max(1.0, abs(numeric))
raise SystemExit(0 if ok else 1)
