"""Quantize a tiny model with AutoRound (round-to-nearest, iters=0, seeded) and export it."""

import contextlib
import os
import shutil
import tempfile

from auto_round import AutoRound

from . import tiny_models

# What AutoRound's resolved per-layer config is copied as (the fields a kernel depends on).
SCHEME_KEYS = ("bits", "group_size", "sym", "data_type", "act_bits", "act_data_type", "act_dynamic")
# Checkpoint files kept: the tokenizer files AutoRound also writes are not needed by incq.
KEPT_FILES = ("config.json", "quantization_config.json", "model.safetensors")


@contextlib.contextmanager
def _env(values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _scheme_args(scheme):
    # A dict is a custom scheme: AutoRound takes its fields as keyword arguments over a preset.
    if isinstance(scheme, dict):
        return {"scheme": "W4A16", **scheme}
    return {"scheme": scheme}


def _plain(value):
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def quantize_and_export(case, out_dir, seed):
    """Writes the checkpoint files into out_dir; returns AutoRound's per-layer resolved scheme."""
    model = tiny_models.moe_model(seed) if case.model == "moe" else tiny_models.dense_model(seed)
    with _env(case.env), tempfile.TemporaryDirectory() as tmp:
        ar = AutoRound(
            model,
            tokenizer=tiny_models.make_tokenizer(),
            iters=0,
            alg_configs="rtn",
            disable_opt_rtn=True,  # plain round-to-nearest, no scale search
            device_map="cpu",
            seed=seed,
            dataset=tiny_models.calibration_texts(),
            nsamples=4,
            seqlen=16,
            layer_config=case.layer_config,
            **_scheme_args(case.scheme),
        )
        if case.two_step:
            ar.quantize()
            ar.save_quantized(tmp, format=case.fmt)
        else:
            ar.quantize_and_save(tmp, format=case.fmt)
        # AutoRound writes into a subfolder named after the scheme (e.g. w4g128/).
        written = [os.path.join(tmp, d) for d in os.listdir(tmp)]
        src = written[0] if len(written) == 1 and os.path.isdir(written[0]) else tmp
        os.makedirs(out_dir, exist_ok=True)
        for name in KEPT_FILES:
            if os.path.exists(os.path.join(src, name)):
                shutil.copy(os.path.join(src, name), os.path.join(out_dir, name))
        resolved = {}
        for layer, cfg in ar.layer_config.items():
            resolved[layer] = {k: _plain(cfg.get(k)) for k in SCHEME_KEYS if k in cfg}
    return resolved
