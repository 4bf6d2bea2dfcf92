#!/usr/bin/env python3
"""Golden fixtures for the Swift Mixtral engine, computed by Hugging Face transformers.

Re-create (from the repository root; needs torch and transformers, see tools/requirements.txt):

    tools/.venv/bin/python tools/make_engine_fixtures.py [--out Tests/EngineTests/Fixtures] [--check]

For every fixture in FIXTURES this writes Tests/EngineTests/Fixtures/<name>/ with
  config.json        as `save_pretrained` writes it (transformers 5.x spelling: `rope_parameters`, `dtype`),
                     or rewritten into the Hub spelling (`rope_theta`, `torch_dtype`) when the fixture asks;
  model.safetensors  random weights (fixed seed), fp32 or bf16, classic Mixtral tensor names;
  expected.json      {"input_ids", "logits" [positions][vocab], "router_logits" [layers][positions][experts],
                      "greedy_prompt", "greedy_tokens" (16), "notes"}.

The oracle is `MixtralForCausalLM` in fp32 with attn_implementation="eager" and experts_implementation="eager".
A bf16 checkpoint's expected outputs come from its bf16 weights upcast exactly to fp32 (as our engine does).
Floats are rounded to 7 significant digits. `--check` runs everything twice and fails if the two runs differ.
Every fixture is also checked for margins: the top-k router choice and the greedy argmax must not be near-ties
(gap >= MIN_MARGIN), so fp32 rounding differences between engines cannot flip them.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field

import torch
from safetensors import safe_open
from transformers import MixtralConfig, MixtralForCausalLM
from transformers.utils import logging as transformers_logging

VOCAB_SIZE = 96
SEQUENCE_LENGTH = 12
GREEDY_PROMPT_LENGTH = 4
GREEDY_NEW_TOKENS = 16
EOS_TOKEN_ID = 2
MIN_MARGIN = 1e-3
LINEAR_GAIN = 1.5  # std = 1.5 / sqrt(fan_in): non-trivial, yet fp32 rounding stays ~1e-5 on the logits


@dataclass
class Fixture:
    name: str
    seed: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    num_local_experts: int
    num_experts_per_tok: int
    rope_theta: float
    head_dim: int | None = None
    tie_word_embeddings: bool = False
    sliding_window: int | None = None
    storage_dtype: torch.dtype = torch.float32
    hub_spelling: bool = False
    rms_norm_eps: float = 1e-5
    covers: list[str] = field(default_factory=list)


FIXTURES = [
    Fixture(
        name="gqa-untied-fp32",
        seed=11, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2,
        rope_theta=1e6,
        covers=["GQA 4 heads / 2 KV heads", "4 experts, top-2", "untied lm_head", "fp32",
                "rope_theta 1e6", "transformers 5.x config spelling (rope_parameters, dtype)"],
    ),
    Fixture(
        name="mqa-headdim-tied",
        seed=22, hidden_size=24, intermediate_size=32, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=1, head_dim=10, num_local_experts=8, num_experts_per_tok=1,
        rope_theta=1e4, tie_word_embeddings=True, hub_spelling=True, rms_norm_eps=1e-6,
        covers=["MQA 4 heads / 1 KV head", "head_dim 10 != hidden/heads 6", "8 experts, top-1",
                "tied embeddings", "3 layers", "rms_norm_eps 1e-6", "fp32", "rope_theta 1e4",
                "Hub config spelling (rope_theta, torch_dtype)"],
    ),
    Fixture(
        name="sliding-window",
        seed=33, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2,
        rope_theta=1e4, sliding_window=5,
        covers=["MHA 2 heads / 2 KV heads", "sliding_window 5 < 12-token sequence (and < 20-token greedy run)",
                "4 experts, top-2", "untied", "fp32", "rope_theta 1e4", "5.x config spelling"],
    ),
    Fixture(
        name="bf16-8experts",
        seed=44, hidden_size=48, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, num_local_experts=8, num_experts_per_tok=2,
        rope_theta=1e6, storage_dtype=torch.bfloat16, hub_spelling=True,
        covers=["bf16 storage (expected outputs from bf16 weights upcast to fp32)", "GQA 4 / 2, head_dim 12",
                "8 experts, top-2", "untied", "rope_theta 1e6", "Hub config spelling"],
    ),
    Fixture(
        name="experts-equal-topk",
        seed=55, hidden_size=16, intermediate_size=16, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=1, num_local_experts=2, num_experts_per_tok=2,
        rope_theta=1e4, tie_word_embeddings=True,
        covers=["num_experts == top-k (2 experts, top-2: every expert always runs)", "MQA 4 / 1, head_dim 4",
                "tied embeddings", "fp32", "5.x config spelling"],
    ),
]


def make_config(fixture: Fixture) -> MixtralConfig:
    return MixtralConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=fixture.hidden_size,
        intermediate_size=fixture.intermediate_size,
        num_hidden_layers=fixture.num_hidden_layers,
        num_attention_heads=fixture.num_attention_heads,
        num_key_value_heads=fixture.num_key_value_heads,
        head_dim=fixture.head_dim,
        num_local_experts=fixture.num_local_experts,
        num_experts_per_tok=fixture.num_experts_per_tok,
        rope_parameters={"rope_type": "default", "rope_theta": fixture.rope_theta},
        sliding_window=fixture.sliding_window,
        tie_word_embeddings=fixture.tie_word_embeddings,
        rms_norm_eps=fixture.rms_norm_eps,
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=EOS_TOKEN_ID,
    )


def load_model(config_or_dir, **kwargs) -> MixtralForCausalLM:
    """fp32 model with the plain (eager) attention and expert loops, in eval mode."""
    options = dict(attn_implementation="eager", experts_implementation="eager")
    if isinstance(config_or_dir, MixtralConfig):
        model = MixtralForCausalLM._from_config(config_or_dir, dtype=torch.float32, **options)
    else:
        model = MixtralForCausalLM.from_pretrained(config_or_dir, dtype=torch.float32, **options, **kwargs)
    return model.eval()


def scale_up_weights(model: MixtralForCausalLM, seed: int) -> None:
    """Replace torch's tiny default init so logits and routing are far from uniform.

    Embeddings ~ N(0, 1); attention projections, experts and lm_head ~ N(0, LINEAR_GAIN² / fan_in);
    router (gate) ~ N(0, 1); RMSNorm weights ~ 1 + N(0, 0.1).
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("embed_tokens.weight"):
                std, mean = 1.0, 0.0
            elif name.endswith("gate.weight"):
                std, mean = 1.0, 0.0
            elif "norm" in name:
                std, mean = 0.1, 1.0
            else:
                std, mean = LINEAR_GAIN / parameter.shape[-1] ** 0.5, 0.0
            parameter.copy_(mean + std * torch.randn(parameter.shape, generator=generator))


def rewrite_config_spelling(config_path: str) -> None:
    """Rewrite a transformers 5.x config.json into the Hub spelling (rope_theta, torch_dtype)."""
    with open(config_path) as f:
        config = json.load(f)
    rope_parameters = config.pop("rope_parameters")
    assert rope_parameters["rope_type"] == "default", rope_parameters
    config["rope_theta"] = rope_parameters["rope_theta"]
    config["torch_dtype"] = config.pop("dtype")
    with open(config_path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")


def round7(values) -> list:
    """Nested lists of floats rounded to 7 significant digits."""
    if isinstance(values, list):
        return [round7(v) for v in values]
    return float(f"{values:.7g}")


def forward(model, input_ids: list[int]):
    """Logits [positions, vocab] and raw router logits [layers, positions, experts] for one sequence."""
    with torch.no_grad():
        output = model(torch.tensor([input_ids]), output_router_logits=True, use_cache=False)
    logits = output.logits[0].float()
    router_logits = torch.stack([r.float() for r in output.router_logits])
    return logits, router_logits


def greedy(model, prompt: list[int]) -> list[int]:
    """16 greedy tokens from `generate`, with EOS disabled (no eos_token_id, so no stop and no suppression)."""
    with torch.no_grad():
        output = model.generate(
            torch.tensor([prompt]), do_sample=False, max_new_tokens=GREEDY_NEW_TOKENS,
            min_new_tokens=GREEDY_NEW_TOKENS, eos_token_id=None, pad_token_id=0,
        )
    return output[0, len(prompt):].tolist()


def greedy_without_cache(model, prompt: list[int]) -> list[int]:
    """The same greedy run by re-running the full sequence each step (no KV cache, no logits processors)."""
    tokens = list(prompt)
    for _ in range(GREEDY_NEW_TOKENS):
        logits, _ = forward(model, tokens)
        tokens.append(int(logits[-1].argmax()))
    return tokens[len(prompt):]


def smallest_gap(scores: torch.Tensor, k: int) -> float:
    """Smallest gap between the k-th and (k+1)-th largest value over the rows of scores [rows, n]."""
    if k >= scores.shape[-1]:
        return float("inf")
    top = scores.topk(k + 1, dim=-1).values
    return float((top[..., k - 1] - top[..., k]).min())


def sliding_window_report(model, fixture: Fixture, input_ids: list[int], logits: torch.Tensor) -> str:
    """Check that transformers applies the window and count the keys each query sees."""
    window = fixture.sliding_window
    with torch.no_grad():
        output = model(torch.tensor([input_ids]), output_attentions=True, use_cache=False)
    weights = output.attentions[0][0, 0]  # layer 0, head 0: [queries, keys]
    seen = (weights > 0).sum(dim=-1).tolist()
    expected_seen = [min(i + 1, window) for i in range(len(input_ids))]
    assert seen == expected_seen, (seen, expected_seen)
    for i in range(len(input_ids)):
        visible = (weights[i] > 0).nonzero().flatten().tolist()
        assert visible == list(range(max(0, i - window + 1), i + 1)), (i, visible)

    model.config.sliding_window = None
    unwindowed, _ = forward(model, input_ids)
    model.config.sliding_window = window
    changed = (unwindowed - logits).abs().amax(dim=-1)
    assert float(changed[:window].max()) < 1e-5, "positions inside the window must not change"
    assert float(changed[window:].min()) > 1e-2, "positions past the window must change"
    return (
        f"transformers applies sliding_window={window} as a mask: a query at position i attends to keys "
        f"j with i - {window} < j <= i, i.e. min(i + 1, {window}) keys including itself "
        f"(masking_utils.sliding_window_overlay: kv_idx > q_idx - sliding_window). Measured keys seen per query: "
        f"{seen}. Without the window, logits at positions >= {window} change by >= {float(changed[window:].min()):.3g}. "
        f"During generate the sliding cache keeps the last {window - 1} keys plus the new one, the same rule."
    )


def build_fixture(fixture: Fixture, out_dir: str) -> dict:
    torch.manual_seed(fixture.seed)
    config = make_config(fixture)
    model = load_model(config)
    scale_up_weights(model, fixture.seed)
    model.config.eos_token_id = EOS_TOKEN_ID

    fixture_dir = os.path.join(out_dir, fixture.name)
    shutil.rmtree(fixture_dir, ignore_errors=True)
    model.to(fixture.storage_dtype).save_pretrained(fixture_dir)
    os.remove(os.path.join(fixture_dir, "generation_config.json"))
    config_path = os.path.join(fixture_dir, "config.json")
    if fixture.hub_spelling:
        rewrite_config_spelling(config_path)

    # The oracle reads the checkpoint back as written (this also checks the rewritten spelling loads),
    # upcast to fp32: bf16 -> fp32 is exact.
    model = load_model(fixture_dir)
    assert model.config.rope_parameters["rope_theta"] == fixture.rope_theta
    assert model.config.sliding_window == fixture.sliding_window

    generator = torch.Generator().manual_seed(fixture.seed + 1000)
    # Ids 3..95: skip <unk>=0, <s>=1, </s>=2 so the sequence is ordinary tokens.
    input_ids = [1] + torch.randint(3, VOCAB_SIZE, (SEQUENCE_LENGTH - 1,), generator=generator).tolist()
    logits, router_logits = forward(model, input_ids)

    greedy_prompt = input_ids[:GREEDY_PROMPT_LENGTH]
    greedy_tokens = greedy(model, greedy_prompt)
    assert greedy_tokens == greedy_without_cache(model, greedy_prompt), "generate disagrees with full re-runs"
    assert EOS_TOKEN_ID not in greedy_tokens, "an engine stopping at EOS would end early; pick another seed"

    # Margins over the test sequence and the whole greedy run.
    greedy_logits, greedy_router_logits = forward(model, greedy_prompt + greedy_tokens)
    k = fixture.num_experts_per_tok
    router_gap = min(smallest_gap(router_logits, k), smallest_gap(greedy_router_logits, k))
    argmax_gap = smallest_gap(greedy_logits[GREEDY_PROMPT_LENGTH - 1:-1], 1)
    assert router_gap >= MIN_MARGIN, f"{fixture.name}: near-tie in routing ({router_gap})"
    assert argmax_gap >= MIN_MARGIN, f"{fixture.name}: near-tie in greedy argmax ({argmax_gap})"

    notes = [
        f"Covers: {'; '.join(fixture.covers)}.",
        f"transformers MixtralForCausalLM in fp32, attn_implementation=eager, experts_implementation=eager, "
        f"seed {fixture.seed}; weights stored as {str(fixture.storage_dtype).removeprefix('torch.')}"
        + (" and upcast exactly to fp32 for these outputs" if fixture.storage_dtype != torch.float32 else "")
        + ".",
        "logits: [positions][vocab] for input_ids (full sequence, one forward pass, no cache). "
        "router_logits: raw gate outputs [layers][positions][experts] (output_router_logits=True), before softmax.",
        f"greedy_tokens: generate(do_sample=False, max_new_tokens={GREEDY_NEW_TOKENS}, "
        f"min_new_tokens={GREEDY_NEW_TOKENS}, eos_token_id=None) on greedy_prompt; identical to re-running the "
        f"full sequence each step; EOS ({EOS_TOKEN_ID}) never occurs.",
        f"Margins: smallest gap between the top-{k} and next router logit {router_gap:.3g}; smallest gap "
        f"between the greedy argmax and the runner-up {argmax_gap:.3g}.",
    ]
    if fixture.sliding_window is not None:
        notes.append(sliding_window_report(model, fixture, input_ids, logits))

    expected = {
        "input_ids": input_ids,
        "logits": round7(logits.tolist()),
        "router_logits": round7(router_logits.tolist()),
        "greedy_prompt": greedy_prompt,
        "greedy_tokens": greedy_tokens,
        "notes": " ".join(notes),
    }
    write_expected(os.path.join(fixture_dir, "expected.json"), expected)

    top1 = router_logits.argmax(dim=-1)  # [layers, positions]
    return {
        "name": fixture.name,
        "dtype": str(fixture.storage_dtype).removeprefix("torch."),
        "hidden": fixture.hidden_size,
        "layers": fixture.num_hidden_layers,
        "heads/kv": f"{fixture.num_attention_heads}/{fixture.num_key_value_heads}",
        "head_dim": model.model.layers[0].self_attn.head_dim,
        "experts/k": f"{fixture.num_local_experts}/{k}",
        "window": fixture.sliding_window,
        "tied": fixture.tie_word_embeddings,
        "theta": fixture.rope_theta,
        "spelling": "hub" if fixture.hub_spelling else "5.x",
        "top1 experts used/layer": [len(set(row.tolist())) for row in top1],
        "|logit| max": round(float(logits.abs().max()), 2),
        "router gap": f"{router_gap:.2g}",
        "argmax gap": f"{argmax_gap:.2g}",
        "KB": round(sum(os.path.getsize(os.path.join(fixture_dir, f)) for f in os.listdir(fixture_dir)) / 1024),
    }


def write_expected(path: str, expected: dict) -> None:
    """JSON with one row of floats per line, so diffs stay readable."""
    def rows(matrix, indent):
        return "[\n" + ",\n".join(indent + json.dumps(row) for row in matrix) + "\n" + indent[:-2] + "]"

    parts = [
        f'  "input_ids": {json.dumps(expected["input_ids"])}',
        f'  "logits": {rows(expected["logits"], "    ")}',
        '  "router_logits": [\n' + ",\n".join("    " + rows(layer, "      ") for layer in expected["router_logits"])
        + "\n  ]",
        f'  "greedy_prompt": {json.dumps(expected["greedy_prompt"])}',
        f'  "greedy_tokens": {json.dumps(expected["greedy_tokens"])}',
        f'  "notes": {json.dumps(expected["notes"])}',
    ]
    text = "{\n" + ",\n".join(parts) + "\n}\n"
    assert json.loads(text) == expected
    with open(path, "w") as f:
        f.write(text)


def tensor_names(fixture_dir: str) -> list[str]:
    with safe_open(os.path.join(fixture_dir, "model.safetensors"), "pt") as f:
        return [f"{name} {f.get_slice(name).get_dtype()} {list(f.get_slice(name).get_shape())}" for name in f.keys()]


def read_tree(directory: str) -> dict[str, bytes]:
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, directory)] = f.read()
    return files


def print_table(rows: list[dict]) -> None:
    columns = list(rows[0].keys())
    cells = [[str(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "EngineTests", "Fixtures"))
    parser.add_argument("--check", action="store_true", help="build twice and compare the files byte for byte")
    parser.add_argument("--names", action="store_true", help="print the tensor names of each checkpoint")
    args = parser.parse_args()
    torch.set_num_threads(1)
    transformers_logging.disable_progress_bar()

    rows = [build_fixture(fixture, args.out) for fixture in FIXTURES]
    print_table(rows)
    if args.names:
        for fixture in FIXTURES:
            print(f"\n{fixture.name}:")
            print("\n".join(tensor_names(os.path.join(args.out, fixture.name))))
    if args.check:
        with tempfile.TemporaryDirectory() as again:
            for fixture in FIXTURES:
                build_fixture(fixture, again)
                first = read_tree(os.path.join(args.out, fixture.name))
                second = read_tree(os.path.join(again, fixture.name))
                if first != second:
                    print(f"{fixture.name}: second run differs", file=sys.stderr)
                    return 1
        print("determinism check: a second run wrote identical bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
