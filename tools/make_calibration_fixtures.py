#!/usr/bin/env python3
"""Golden outputs of round-to-nearest, GPTQ and AWQ on one small weight, for Tests/QuantizationTests.

A numpy reference written from the papers, independent of the Swift code:
- the grid: Q4_0's rule (ggml `quantize_row_q4_0_ref`, gguf-py `Q4_0`) with 2^b levels — per block of 32
  weights along a row, m = signed value of largest magnitude (first on ties), d = m / -2^(b-1),
  q = clamp(floor(w * (1/d) + 2^(b-1) + 0.5), 0, 2^b - 1) in float32, value = (q - 2^(b-1)) * float16(d);
- GPTQ: Frantar et al. 2023, Algorithm 1, as the reference code IST-DASLab/gptq `gptq.py` `fasterquant`
  runs it with its defaults (percdamp 0.01, no act-order, dead columns zeroed, a block's scale taken from
  the updated weights at the block's first column; lazy batching left out, it only reorders the arithmetic);
- AWQ: Lin et al. 2024, section 3.2, with AutoAWQ `_search_best_scale` defaults (n_grid 20, scales
  x_mean**ratio clamped at 1e-4, normalised by sqrt(max*min)), the loss measured on the layer's own output.

Usage: python3 tools/make_calibration_fixtures.py Tests/QuantizationTests/Fixtures/calibration_fixtures.json
Needs numpy only. Deterministic (seeded); re-running writes the same file.
"""
import json
import sys

import numpy as np

BLOCK = 32


def round_trip(w, inv, dec, bits):
    half = np.float32(2 ** (bits - 1))
    t = np.float32(w) * np.float32(inv) + np.float32(half + 0.5)
    q = np.clip(np.floor(t), 0, 2 ** bits - 1).astype(np.float32)
    return (q - half) * np.float32(dec)


def scale(block, bits):
    block = np.asarray(block, dtype=np.float32)
    m = block[np.argmax(np.abs(block))]
    d = np.float32(m / np.float32(-(2 ** (bits - 1))))
    inv = np.float32(0) if d == 0 else np.float32(np.float32(1) / d)
    if not np.isfinite(inv):
        inv = np.float32(0)
    return inv, np.float32(np.float16(d))


def rtn(w, bits):
    out = w.astype(np.float32).copy()
    for r in range(out.shape[0]):
        for b in range(0, out.shape[1], BLOCK):
            inv, dec = scale(out[r, b:b + BLOCK], bits)
            out[r, b:b + BLOCK] = round_trip(out[r, b:b + BLOCK], inv, dec, bits)
    return out


def gptq(w, x, bits, percdamp=0.01):
    rows, cols = w.shape
    W = w.astype(np.float64).copy()
    H = 2.0 * x.astype(np.float64).T @ x.astype(np.float64) / x.shape[0]
    dead = np.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H += percdamp * np.mean(np.diag(H)) * np.eye(cols)
    Hinv = np.linalg.inv(H)
    U = np.linalg.cholesky(Hinv).T  # upper: Hinv = U.T @ U
    Q = np.zeros((rows, cols), dtype=np.float32)
    params = [None] * rows
    for c in range(cols):
        if c % BLOCK == 0:
            params = [scale(W[r, c:c + BLOCK].astype(np.float32), bits) for r in range(rows)]
        q = np.array([round_trip(np.float32(W[r, c]), *params[r], bits) for r in range(rows)], dtype=np.float32)
        Q[:, c] = q
        err = (W[:, c] - q.astype(np.float64)) / U[c, c]
        W[:, c + 1:] -= np.outer(err, U[c, c + 1:])
    return Q


def awq(w, x, bits, n_grid=20):
    x_mean = np.abs(x.astype(np.float32)).mean(axis=0)
    best = None
    for i in range(n_grid):
        ratio = i / n_grid
        s = np.maximum(np.power(x_mean, np.float32(ratio)), np.float32(1e-4)).astype(np.float32)
        s = (s / np.sqrt(s.max() * s.min())).astype(np.float32)
        eff = rtn((w.astype(np.float32) * s[None, :]).astype(np.float32), bits) / s[None, :]
        delta = (w - eff).astype(np.float64)
        loss = float(np.sum((x.astype(np.float64) @ delta.T) ** 2))
        if best is None or loss < best[0]:
            best = (loss, ratio, eff.astype(np.float32))
    return best[1], best[2]


def main(path):
    rng = np.random.default_rng(20231217)
    rows, cols, n = 6, 64, 48
    w = (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)
    x = rng.standard_normal((n, cols)).astype(np.float32)
    x[:, [3, 17, 40]] *= 12  # salient input channels, as AWQ assumes
    cases = []
    for bits in (4, 3):
        alpha, awq_w = awq(w, x, bits)
        cases.append({
            "bits": bits,
            "rtn": rtn(w, bits).ravel().tolist(),
            "gptq": gptq(w, x, bits).ravel().tolist(),
            "awq_alpha": alpha,
            "awq": awq_w.ravel().tolist(),
        })
    with open(path, "w") as f:
        json.dump({"rows": rows, "cols": cols, "n": n, "weight": w.ravel().tolist(), "inputs": x.ravel().tolist(),
                   "cases": cases}, f)


if __name__ == "__main__":
    main(sys.argv[1])
