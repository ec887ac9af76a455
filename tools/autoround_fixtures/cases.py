"""Every fixture: which tiny model, which AutoRound scheme, which export format.

`scheme` is passed to AutoRound as is (a preset name, or a dict of scheme fields); `fmt` is the
`format=` of quantize_and_save. The packing format AutoRound actually writes is read back from the
exported config, never assumed from here.
"""

from dataclasses import dataclass, field


@dataclass
class Case:
    name: str
    model: str  # "dense" or "moe"
    scheme: object
    fmt: str
    layer_config: dict | None = None
    env: dict = field(default_factory=dict)
    why: str = ""
    # quantize() then save_quantized() instead of quantize_and_save(): AutoRound's other public path,
    # for schemes whose quantize_and_save crashes in this version.
    two_step: bool = False


def _int_scheme(bits, group_size, sym):
    return {"bits": bits, "group_size": group_size, "sym": sym, "data_type": "int", "act_bits": 16}


def _group_tag(group_size):
    return "gall" if group_size == -1 else f"g{group_size}"


def all_cases():
    cases = []
    # Symmetric int through format "auto_round": AutoRound switches it to auto_round:auto_gptq (v1).
    for bits in (2, 3, 4, 8):
        for g in (32, 64, 128, -1):
            cases.append(Case(f"autoround_sym_w{bits}_{_group_tag(g)}", "dense", _int_scheme(bits, g, True),
                              "auto_round", why="symmetric int: auto_round -> auto_round:auto_gptq"))
    # Asymmetric 4-bit through "auto_round": AutoRound switches it to auto_round:auto_awq.
    for g in (32, 128):
        cases.append(Case(f"autoround_asym_w4_{_group_tag(g)}", "dense", _int_scheme(4, g, False), "auto_round",
                          why="asymmetric 4-bit: auto_round -> auto_round:auto_awq"))
    # Asymmetric 2/3/8-bit stay GPTQ-packed under "auto_round" (zeros stored as is, v2).
    for bits in (2, 3, 8):
        cases.append(Case(f"autoround_asym_w{bits}_g64", "dense", _int_scheme(bits, 64, False), "auto_round",
                          # AutoRound 0.16.1 refuses asymmetric 8-bit unless this opt-in is set.
                          env={"AR_ALLOW_W8_ASYM": "1"} if bits == 8 else {},
                          why="asymmetric non-4-bit: auto_round (GPTQ v2)"))
    cases.append(Case("gptqmodel_sym_w4_g128", "dense", _int_scheme(4, 128, True), "auto_round:gptqmodel",
                      why="auto_round:gptqmodel, symmetric"))
    cases.append(Case("gptqmodel_asym_w4_g64", "dense", _int_scheme(4, 64, False), "auto_round:gptqmodel",
                      why="auto_round:gptqmodel, asymmetric"))
    cases.append(Case("autogptq_sym_w4_g128", "dense", _int_scheme(4, 128, True), "auto_gptq",
                      why="plain GPTQ export (quant_method gptq)"))
    cases.append(Case("autogptq_asym_w4_g128", "dense", _int_scheme(4, 128, False), "auto_gptq",
                      why="plain GPTQ export, asymmetric"))
    cases.append(Case("autoawq_asym_w4_g128", "dense", _int_scheme(4, 128, False), "auto_awq",
                      why="plain AWQ export (quant_method awq)"))
    # Mixed bits: one layer kept at 16 bits, a regex key, an 8-bit lm_head.
    cases.append(Case("autoround_mixed_bits", "dense", _int_scheme(4, 128, True), "auto_round",
                      layer_config={
                          "model.layers.0.self_attn.o_proj": {"bits": 16},
                          # Bare dots: AutoRound's to_standard_regex escapes every bare dot itself, so
                          # an escaped "\\." would become a literal backslash and match nothing.
                          ".*mlp.(gate|up)_proj": {"bits": 8, "group_size": 32},
                          "lm_head": {"bits": 8, "group_size": 64, "sym": True},
                      },
                      why="layer_config: a dense layer, a regex key, an 8-bit lm_head"))
    # Floating-point formats (no incq plugin implements them yet).
    cases.append(Case("fp8_per_tensor", "dense", "FPW8A16", "auto_round", why="FP8 weight-only, per-tensor scale"))
    cases.append(Case("fp8_per_channel", "dense",
                      {"bits": 8, "group_size": -1, "data_type": "fp", "act_bits": 16, "act_data_type": "fp"},
                      "auto_round", why="FP8 weight-only, per-channel scale"))
    cases.append(Case("fp8_block", "dense", "FP8_BLOCK", "auto_round", two_step=True,
                      why="FP8 block scales (W8A8 dynamic); quantize_and_save raises TypeError in "
                          "_get_export_dir on the tuple group size in 0.16.1"))
    cases.append(Case("mxfp4", "dense", "MXFP4", "auto_round", why="MXFP4"))
    cases.append(Case("mxfp8", "dense", "MXFP8", "auto_round", why="MXFP8"))
    cases.append(Case("nvfp4", "dense", "NVFP4", "auto_round", why="NVFP4"))
    cases.append(Case("mxint4", "dense", "MXINT4", "auto_round", why="MXINT4"))
    # MoE: experts are quantized as separate Linears.
    cases.append(Case("moe_sym_w4_g32", "moe", _int_scheme(4, 32, True), "auto_round", why="MoE, GPTQ v1"))
    cases.append(Case("moe_asym_w4_g64", "moe", _int_scheme(4, 64, False), "auto_round", why="MoE, AWQ"))
    cases.append(Case("moe_asym_w2_g32", "moe", _int_scheme(2, 32, False), "auto_round", why="MoE, GPTQ v2"))
    return cases
