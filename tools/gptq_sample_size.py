"""GPTQ against the number of calibration rows: is its worse result at a few hundred calibration tokens in
lesson 11 the algorithm, or a bug in the Swift code? (issue 20)

Runs the independent numpy reference (tools/make_calibration_fixtures.py's `gptq` and `rtn`, 4 bits) on one
real expert weight of the default model (`model.layers.1.block_sparse_moe.experts.0.w1.weight`, 256 x 192)
with synthetic inputs — Gaussian with a decaying spectrum (standard deviation 1/sqrt(1 + i) along a random
orthonormal basis), like real activations — and prints GPTQ's output error on 4,096 other inputs relative
to round-to-nearest's, for calibration sets of n rows (two draws each; seed 1).

Run (from the repository root; about 3 minutes on 2 busy cores):
    tools/.venv/bin/python tools/gptq_sample_size.py [--model models/shakespeare-mixtral]
"""

import argparse
import pathlib
import sys

import numpy as np
import safetensors.torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_calibration_fixtures import gptq, rtn  # noqa: E402

TENSOR = "model.layers.1.block_sparse_moe.experts.0.w1.weight"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=pathlib.Path, default=pathlib.Path("models/shakespeare-mixtral"))
    args = p.parse_args()
    # bf16 in the checkpoint, which numpy has no type for: read through torch
    w = safetensors.torch.load_file(str(args.model / "model.safetensors"))[TENSOR].float().numpy()
    rng = np.random.default_rng(1)
    cols = w.shape[1]
    basis = np.linalg.qr(rng.standard_normal((cols, cols)))[0]
    sd = 1.0 / np.sqrt(1 + np.arange(cols))

    def draw(n: int) -> np.ndarray:
        return ((rng.standard_normal((n, cols)) * sd) @ basis.T).astype(np.float32)

    test = draw(4096).astype(np.float64)

    def output_error(q: np.ndarray) -> float:
        return float(np.sum((test @ (w - q).T.astype(np.float64)) ** 2))

    base = output_error(rtn(w, 4))
    print(f"{TENSOR}: {w.shape[0]} x {cols}; GPTQ output error / round-to-nearest's on 4096 other inputs")
    for n in [3, 13, 53, 96, 150, 192, 236, 400, 965]:
        ratios = [output_error(gptq(w, draw(n), 4)) / base for _ in range(2)]
        print(f"n={n:5d}  {np.mean(ratios):.3f}  ({', '.join(f'{r:.3f}' for r in ratios)})", flush=True)


if __name__ == "__main__":
    main()
