#!/usr/bin/env python3
"""Builds tests/fixtures/autoround/: checkpoints exported by Intel's AutoRound itself, plus
AutoRound's own outputs for every quantized layer, for incq's tests to compare against.

Usage (see tools/README.md for the environment):
    python tools/make_autoround_fixtures.py [--out DIR] [--only NAME ...] [--seed N]

Per case it writes DIR/<case>/checkpoint/ (config.json, quantization_config.json,
model.safetensors as AutoRound wrote them), DIR/<case>/reference.safetensors (seeded inputs and
AutoRound's outputs) and DIR/<case>/reference.json (what AutoRound resolved per layer, which of
its modules produced each output, and anything it could not do).
"""

import argparse
import json
import os
import shutil
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import auto_round  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from autoround_fixtures import cases, export, reference, tiny_models  # noqa: E402

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "autoround")


def versions():
    return {"auto_round": auto_round.__version__, "torch": torch.__version__, "transformers": transformers.__version__}


def build_case(case, case_dir, seed):
    ckpt_dir = os.path.join(case_dir, "checkpoint")
    shutil.rmtree(case_dir, ignore_errors=True)
    resolved = export.quantize_and_export(case, ckpt_dir, seed)
    tensors, layers, model = reference.record(ckpt_dir, resolved, seed)
    qc = json.load(open(os.path.join(ckpt_dir, "config.json")))["quantization_config"]
    desc = {
        "case": case.name,
        "why": case.why,
        "versions": versions(),
        "seed": seed,
        "autoround_call": {"scheme": case.scheme, "format": case.fmt, "layer_config": case.layer_config,
                           "env": case.env, "iters": 0, "alg_configs": "rtn", "disable_opt_rtn": True},
        "quantization_config": qc,
        "tokens": reference.TOKENS,
        "layers": layers,
    }
    if case.model == "moe" and model is not None:
        prefix = "model.layers.0.mlp.experts"
        x = reference.seeded_input(prefix, tiny_models.HIDDEN, seed)
        try:
            ckpt = load_file(os.path.join(ckpt_dir, "model.safetensors"))
            ids, weights, y = reference.moe_block_reference(model, prefix, x, tiny_models.TOP_K, True, ckpt, resolved)
            tensors.update({f"{prefix}.x": x.half(), f"{prefix}.topk_ids": ids, f"{prefix}.topk_weights": weights,
                            f"{prefix}.y_fp32": y})
            desc["moe"] = {prefix: {"top_k": tiny_models.TOP_K, "num_experts": tiny_models.NUM_EXPERTS,
                                    "path_fp32": "router softmax top-k (renormalised) of the checkpoint's gate, "
                                                 "then sum of w * down(silu(gate(x)) * up(x)) over AutoRound's "
                                                 "expert modules after .float() (AWQ experts: AutoRound's "
                                                 "dequantize_gemm with fp32 scales); equal to the "
                                                 "transformers block's forward (checked)"}}
        except Exception as e:
            desc["moe"] = {prefix: {"error": f"{type(e).__name__}: {e}"}}
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(case_dir, "reference.safetensors"))
    with open(os.path.join(case_dir, "reference.json"), "w") as f:
        json.dump(desc, f, indent=1, sort_keys=False)
        f.write("\n")
    return desc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", help="case names to (re)build; default: all")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)  # fixed thread count: AutoRound's fp16 outputs do not depend on it
    failed = []
    for case in cases.all_cases():
        if args.only and case.name not in args.only:
            continue
        case_dir = os.path.join(args.out, case.name)
        try:
            desc = build_case(case, case_dir, args.seed)
            recorded = sum(1 for e in desc["layers"].values() if "path_fp16" in e)
            print(f"{case.name}: packing_format={desc['quantization_config'].get('packing_format')} "
                  f"quant_method={desc['quantization_config'].get('quant_method')} "
                  f"layers with AutoRound outputs: {recorded}/{len(desc['layers'])}", flush=True)
        except Exception:
            # A format this AutoRound cannot export: say so, leave no half-written fixture.
            shutil.rmtree(case_dir, ignore_errors=True)
            failed.append(case.name)
            print(f"{case.name}: AutoRound could not export it:\n{traceback.format_exc()}", flush=True)
    print(f"not exported: {failed if failed else 'none'}")


if __name__ == "__main__":
    main()
