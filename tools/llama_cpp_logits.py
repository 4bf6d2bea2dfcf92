#!/usr/bin/env python3
"""llama.cpp's logits for a prompt, as a cross-check fixture for mixtral-lab's engine on a GGUF file.

Loads MODEL.gguf with llama-cpp-python (llama.cpp built by tools/build_llama_cpp.sh, CPU only),
evaluates the prompt's token ids in one batch with `logits_all=True` and writes the logits of every
position (row i = the next-token logits after token i) or, with --last-only, of the last one.

Usage:
    LLAMA_CPP_LIB_PATH=../llama.cpp/build/bin tools/.venv/bin/python tools/llama_cpp_logits.py \\
        MODEL.gguf --tokens 1,22557,1526 --output logits.json [--last-only] [--threads 2]
    ... MODEL.gguf --prompt "Hello world" --output logits.npy     (ids from llama.cpp's tokenizer, BOS added)

Output: `.json` → {"model", "llama_cpp_python", "tokens", "n_vocab", "positions", "logits": [[n_vocab
floats] per position]} with float32 values written as shortest round-trip decimals; `.npy` → float32
array [positions, n_vocab] (the token ids then go to OUTPUT with suffix .tokens.json).

Settings chosen so that an fp32 GGUF can be compared with an fp32 engine: KV cache in F32 (llama.cpp's
default is F16), flash attention off, context just long enough for the prompt, `n_threads` and
`n_threads_batch` from --threads. llama.cpp still quantizes the activations to 8 bits in its Q8_0/Q4_0
dot products (ggml-cpu `vec_dot_q4_0_q8_0`), so quantized files differ from a float reference by more
than rounding; mixtral-lab's `--activations q8` rounds them the same way (GGUFLlamaCppTests).
"""
import argparse
import json
import os
import sys
from importlib.metadata import version

import numpy as np

GGML_TYPE_F32 = 0  # ggml.h enum ggml_type


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("model", help="GGUF file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--tokens", help="comma-separated token ids, BOS included if wanted")
    source.add_argument("--prompt", help="text, tokenized by llama.cpp with BOS added (special tokens as text)")
    parser.add_argument("--output", required=True, help="OUTPUT.json or OUTPUT.npy")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--last-only", action="store_true", help="only the last position's logits")
    return parser.parse_args()


def main():
    args = parse_args()
    if "LLAMA_CPP_LIB_PATH" not in os.environ:
        sys.exit("set LLAMA_CPP_LIB_PATH to llama.cpp's build/bin (see tools/build_llama_cpp.sh)")
    if not args.output.endswith((".json", ".npy")):
        sys.exit(f"--output {args.output}: expected a .json or .npy file name")
    from llama_cpp import Llama

    # The tokenizer needs the model's vocabulary; a vocab-only load is cheap.
    if args.prompt is not None:
        vocab = Llama(model_path=args.model, vocab_only=True, verbose=False)
        tokens = vocab.tokenize(args.prompt.encode("utf-8"), add_bos=True, special=False)
        del vocab
    else:
        tokens = [int(t) for t in args.tokens.split(",") if t.strip()]
    if not tokens:
        sys.exit("no tokens to evaluate")

    llm = Llama(model_path=args.model, n_ctx=max(32, len(tokens)), n_batch=max(32, len(tokens)),
                n_ubatch=max(32, len(tokens)), n_threads=args.threads, n_threads_batch=args.threads,
                logits_all=True, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, flash_attn=False,
                n_gpu_layers=0, verbose=False)
    llm.eval(tokens)
    logits = np.array(llm.scores[: len(tokens)], dtype=np.float32)
    if args.last_only:
        logits = logits[-1:]
    positions = list(range(len(tokens) - logits.shape[0], len(tokens)))

    meta = {"model": os.path.basename(args.model), "llama_cpp_python": version("llama_cpp_python"),
            "tokens": tokens, "n_vocab": int(logits.shape[1]), "positions": positions}
    if args.output.endswith(".npy"):
        np.save(args.output, logits)
        with open(args.output[: -len(".npy")] + ".tokens.json", "w") as f:
            json.dump(meta, f, indent=1)
    else:
        meta["logits"] = [[float(v) for v in row] for row in logits]
        with open(args.output, "w") as f:
            json.dump(meta, f)
    top = int(np.argmax(logits[-1]))
    print(f"{args.output}: {logits.shape[0]} position(s) × {logits.shape[1]} logits; "
          f"last position's top token {top} ({logits[-1, top]:.4f})")


if __name__ == "__main__":
    main()
