"""Tiny random-weight models and an offline tokenizer for the AutoRound fixtures.

Sizes are chosen so every quantized Linear has K and N multiples of 32 (AutoRound leaves other
layers dense) and so K >= 128 everywhere: AutoRound 0.16.1 exports a layer whose K is below the
group size, but its own loader then leaves that layer dense, so such a layer could not be compared.
down_proj has K = 256, so group size 128 gives two groups there and differs from group size -1.
"""

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3MoeConfig,
    Qwen3MoeForCausalLM,
)

VOCAB = 64
HIDDEN = 128
INTERMEDIATE = 256
MOE_INTERMEDIATE = 128
NUM_EXPERTS = 4
TOP_K = 2


def make_tokenizer():
    """A word-level tokenizer over "t0".."t63": AutoRound needs one, and nothing may be downloaded."""
    vocab = {f"t{i}": i for i in range(VOCAB)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="t0", pad_token="t0", eos_token="t0")


def calibration_texts(count=4, length=32):
    """RTN with iters=0 still runs the blocks once to cache inputs; these texts feed that pass."""
    return [" ".join(f"t{(i * 7 + j * 3) % VOCAB}" for j in range(length)) for i in range(count)]


def _seeded(seed, build):
    torch.manual_seed(seed)
    model = build()
    # Random init gives tiny weights; a wider spread makes every quantization level appear.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2 and "embed" not in name:
                p.normal_(0.0, 0.05)
    return model.eval()


def dense_model(seed):
    """Qwen2-style: q/k/v carry a bias (so biases are exported), GQA gives k/v N = 64."""
    cfg = Qwen2Config(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        intermediate_size=INTERMEDIATE,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=False,
    )
    return _seeded(seed, lambda: Qwen2ForCausalLM(cfg))


def moe_model(seed):
    """Qwen3-MoE-style: per-expert gate/up/down Linears; the router (N = 4) stays dense."""
    cfg = Qwen3MoeConfig(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        intermediate_size=INTERMEDIATE,
        moe_intermediate_size=MOE_INTERMEDIATE,
        num_experts=NUM_EXPERTS,
        num_experts_per_tok=TOP_K,
        norm_topk_prob=True,
        decoder_sparse_step=1,
        mlp_only_layers=[],
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=64,
        tie_word_embeddings=False,
    )
    return _seeded(seed, lambda: Qwen3MoeForCausalLM(cfg))
