#!/usr/bin/env python
"""The full-size random-weight BLIP captioning model WITH its weights, for scripts/bench-blip.ts.

  .venv/bin/python converters/python/export_blip_bench.py OUT_DIR      # ~1 GB, 6-10 min, ~16 GB RAM peak

Writes a BLIP model directory (the layout src/blip/ loads): config.json, tokenizer.json,
caption/vision (ViT-B/16 at 384, 577 tokens) and caption/decoder (BERT-base with cross-attention,
vocabulary 30524), exported like export_blip.py's graphs (converters/python/blip/graphs.py) (TFBlipForConditionalGeneration,
tf.function -> SavedModel -> the real tensorflowjs_converter). Never written under spec/: the
shards are ~900 MB. The tokenizer is a placeholder WordPiece vocabulary of BERT's size with BERT's
special-token ids ([PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103, [DEC] 30522, [ENC] 30523):
random weights make no words anyway, and the benchmark measures time, not text.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_common as hc  # noqa: E402  (sets TF_USE_LEGACY_KERAS before TF is imported)
from blip.graphs import export_graph, graph_defs  # noqa: E402
from blip.models import blip_config, use_erf_gelu  # noqa: E402
from blip.settings import FULL_E, FULL_TEXT, FULL_VISION, MEAN, SEED, STD  # noqa: E402

IDS = {"pad": 0, "unk": 100, "cls": 101, "sep": 102, "mask": 103, "bos": 30522, "dec": 30522, "enc": 30523}


def write_tokenizer(out: Path) -> None:
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = [f"[unused{i}]" for i in range(30522)]
    for name, i in (("[PAD]", 0), ("[UNK]", 100), ("[CLS]", 101), ("[SEP]", 102), ("[MASK]", 103)):
        vocab[i] = name
    for i in range(104, 30522):
        vocab[i] = f"w{i}"
    ids = {t: i for i, t in enumerate(vocab)}
    tok = Tokenizer(WordPiece(ids, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 101), ("[SEP]", 102)])
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "[ENC]"])
    assert tok.token_to_id("[DEC]") == 30522 and tok.token_to_id("[ENC]") == 30523
    tok.save(str(out / "tokenizer.json"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    a = ap.parse_args()
    out: Path = a.out.resolve()
    if str(out).startswith(str(hc.REPO / "spec")):
        sys.exit("export_blip_bench: the weights are ~900 MB; write them outside spec/")
    out.mkdir(parents=True, exist_ok=True)
    import tensorflow as tf
    import tf_keras
    import transformers as T

    t0 = time.time()
    use_erf_gelu()
    tf_keras.utils.set_random_seed(SEED)
    config = blip_config(30524, IDS, FULL_VISION, FULL_TEXT, FULL_E)
    m = T.TFBlipForConditionalGeneration(config)
    s = config.vision_config.image_size
    m(pixel_values=tf.zeros((1, 3, s, s), tf.float32), input_ids=tf.constant([[30522, 1000, 1001]], tf.int32), training=False)
    hc.perturb_constant_weights(m, SEED)
    G, px = graph_defs(768, 768)
    for g in ("caption/vision", "caption/decoder"):
        _, specs, fn = G[g]
        export_graph(m, g, specs or px(s), fn, out / g, None, full=False)
        print(f"[{g}] {time.time() - t0:.0f}s", flush=True)
    write_tokenizer(out)
    v, t = FULL_VISION, FULL_TEXT
    (out / "config.json").write_text(json.dumps({
        "model": "BLIP captioning, full size (ViT-B/16 at 384, BERT-base decoder), random weights "
                 f"(seed {SEED}), for benchmarks only (converters/python/export_blip_bench.py)",
        "vision": {**v, "layer_norm_eps": 1e-5, "hidden_act": "gelu"},
        "text": {k: t[k] for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                                   "intermediate_size", "max_position_embeddings", "encoder_hidden_size")},
        "specialTokens": IDS,
        "image": {"size": s, "mean": MEAN, "std": STD, "layout": "NCHW float32", "resample": "bicubic"},
    }, indent=1))
    print(f"[blip bench] wrote {out} in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
