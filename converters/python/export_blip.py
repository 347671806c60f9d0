#!/usr/bin/env python
"""Export HF TensorFlow BLIP task models (retrieval, captioning, VQA) through the REAL
tensorflowjs_converter, with TensorFlow reference outputs, generate() sequences, the text-side
token-dropping reference and the vision Turbo reference.

  .venv/bin/python converters/python/export_blip.py --size small   # spec/fixtures/blip/small/ (~6 min)
  .venv/bin/python converters/python/export_blip.py --size full    # spec/fixtures/blip/full/<graph>/model.json

small: random weights (fixed seeds), a locally built BERT-uncased-style WordPiece tokenizer
       (tokenizer.json, loaded back through transformers.BertTokenizerFast for every id in the
       references), config.json (ids + the HF conventions of every task), one tfjs graph model
       per graph, pixel_values.f32, reference.json, text-drop-reference.json,
       vision-turbo-reference.json, retrieval/vision/weights.npz.
full:  BLIP-base sized text graphs (itm, text, caption decoder, vqa question/answer), model.json
       only (converted in a temporary directory; no shard is written under spec/).
See docs/PYTHON-EXPORT.md ("BLIP task models").
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_common as hc  # noqa: E402  (sets TF_USE_LEGACY_KERAS before TF is imported)

import numpy as np  # noqa: E402

SEED = 0
OUT_SMALL = hc.REPO / "spec" / "fixtures" / "blip" / "small"
OUT_FULL = hc.REPO / "spec" / "fixtures" / "blip" / "full"

# OpenAI CLIP mean/std (BlipImageProcessor's defaults)
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]

SMALL_VISION = dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=128,
                    image_size=64, patch_size=8)
SMALL_TEXT = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, intermediate_size=128,
                  max_position_embeddings=40, encoder_hidden_size=64)
SMALL_E = 32  # image_text_hidden_size (ITC projection width)
# BlipTextConfig's initializer_range 0.02 gives near-uniform cross-attention on random weights (scores differ by
# ~1e-8 after summing, below float32 noise) and generations that ignore the image; a wider init makes the
# ranking of image tokens and the generated tokens well separated.
TEXT_INIT = float(__import__("os").environ.get("BLIP_TEXT_INIT", "0.15"))
# logit bias added to [SEP] in the decoders' cls/predictions/bias (after the perturbation) so that generate()
# ends some sequences early and others at max_length (chosen by looking at the outputs)
EOS_BIAS = {"caption": float(__import__("os").environ.get("BLIP_EOS_BIAS_CAPTION", "2.2")),
            "vqa": float(__import__("os").environ.get("BLIP_EOS_BIAS_VQA", "2.6"))}

FULL_VISION = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                   image_size=384, patch_size=16)
FULL_TEXT = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                 max_position_embeddings=512, encoder_hidden_size=768, vocab_size=30524,
                 bos_token_id=30522, pad_token_id=0, sep_token_id=102, eos_token_id=2)
FULL_E = 256

IMAGES = ["000b7d55b6184b08.jpg", "001b5e6f1b89fd3b.jpg"]  # ../shared/data/nips17-dev
# "goldfish" is not in the vocab (-> g ##o ##l ##d ##f ##ish), "☺" gives [UNK], capitals test lowercasing
RETRIEVAL_TEXTS = ["a photo of a dog", "a goldfish swimming in the water.", "Two Zebras standing on the grass ☺"]
CAPTION_PROMPT = "a picture of"
VQA_QUESTIONS = ["what is in the picture?", "how many animals are there?"]
MAX_LENGTH = 12
DROP_SETTINGS = [
    {"dropRate": 0.07, "dropMax": 0.8, "rank": "all"},
    {"dropRate": 0.3, "dropMax": 0.5, "rank": "all"},
    {"dropRate": 0.07, "dropMax": 0.8, "rank": "first"},
    {"dropRate": 0.3, "dropMax": 0.5, "rank": "first"},
]
VISION_TURBO_SETTINGS = [
    {"r": 0},
    {"r": 8, "alpha": 5.0, "rThreshold": 0},
    {"r": 8, "alpha": 5.0, "rThreshold": 40},
    {"r": 12, "alpha": 5.0, "rThreshold": 40},
]

GELU_NOTE = ("hidden_act 'gelu' built as transformers' activations_tf._gelu = 0.5*x*(1+Erf(x/sqrt(2))) "
             "(tf.nn.gelu(approximate=False) is 0.5*x*Erfc(..) in TF 2.19 and tfjs has no Erfc); "
             "see export_hf.py GELU_NOTE")


# ----------------------------------------------------------------------------- tokenizer

COMMON_WORDS = """
a an the this that these those there here is are was were be been being has have had do does did
of in on at to from with without by for into onto over under above below near next behind front
between through up down out off around inside outside top bottom left right side
and or but not no yes it its they them their he she his her we you i my your our
what which who whom whose where when why how many much some any all each every both few more most
one two three four five six seven eight nine ten zero first second many several lot lots
photo picture image view close shot man woman men women person people boy girl child children baby
dog dogs cat cats bird birds horse horses cow cows sheep animal animals fish zebra zebras giraffe
elephant bear car cars bus truck train plane boat bike bicycle motorcycle street road city building
house room kitchen table chair bed couch sofa window door wall floor water sea beach sky grass field
tree trees snow mountain park food pizza cake plate bowl cup phone computer ball game sign clock
red blue green yellow black white brown orange pink purple gray grey color colour colors big small
large little tall short long old young new good front back day night
sitting standing walking running playing eating holding looking lying flying swimming riding
sits stands walks runs plays eats holds looks lies flies swims rides wearing parked covered
together another other very just only also
""".split()
SUFFIXES = ["##s", "##es", "##ed", "##ing", "##er", "##ers", "##ly", "##y", "##ion", "##al", "##ful",
            "##ness", "##ment", "##able", "##ish", "##est"]
TOKENIZER_TARGET = 800  # WordPiece vocab entries before [DEC]/[ENC]


def build_vocab() -> list[str]:
    """Deterministic: specials, common words, suffixes, characters, ##characters, then the most frequent
    words of the ImageNet class names (models/vit-tiny-patch16-224/imagenet-classes.txt) until 800."""
    import re
    from collections import Counter

    vocab: list[str] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(vocab)

    def add(t):
        if t not in seen:
            seen.add(t)
            vocab.append(t)

    for w in COMMON_WORDS:
        add(w)
    for s in SUFFIXES:
        add(s)
    chars = list(string.ascii_lowercase) + list(string.digits) + list(string.punctuation)
    for c in chars:
        add(c)
    for c in list(string.ascii_lowercase) + list(string.digits):
        add("##" + c)
    classes = (hc.REPO / "models" / "vit-tiny-patch16-224" / "imagenet-classes.txt").read_text().lower()
    counts = Counter(w for w in re.findall(r"[a-z]+", classes) if len(w) >= 3)
    for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= TOKENIZER_TARGET:
            break
        add(w)
    return vocab


def build_tokenizer(out_dir: Path):
    """tokenizers library: BertNormalizer(lowercase) + BertPreTokenizer + WordPiece + TemplateProcessing,
    then [DEC] (bos) and [ENC] appended as special tokens (as BLIP's BertTokenizer + add_special_tokens).
    Saved through transformers.BertTokenizerFast.save_pretrained (tokenizer.json, tokenizer_config.json,
    special_tokens_map.json) and returned as the BertTokenizerFast that produces every reference id."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import BertTokenizerFast

    vocab = build_vocab()
    ids = {t: i for i, t in enumerate(vocab)}
    tok = Tokenizer(WordPiece(ids, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])])
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.add_special_tokens(["[DEC]", "[ENC]"])
    raw = hc.tmpdir("tfjs-turbo-blip-tok-") / "tokenizer.json"
    tok.save(str(raw))
    fast = BertTokenizerFast(tokenizer_file=str(raw), do_lower_case=True, unk_token="[UNK]", sep_token="[SEP]",
                             pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]", bos_token="[DEC]",
                             additional_special_tokens=["[ENC]"], model_max_length=SMALL_TEXT["max_position_embeddings"])
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out_dir), legacy_format=False)
    shutil.rmtree(raw.parent, ignore_errors=True)
    # reload exactly what the TypeScript side loads
    fast = BertTokenizerFast(tokenizer_file=str(out_dir / "tokenizer.json"), do_lower_case=True,
                             bos_token="[DEC]", additional_special_tokens=["[ENC]"],
                             model_max_length=SMALL_TEXT["max_position_embeddings"])
    assert fast.convert_tokens_to_ids("[DEC]") == len(vocab) and fast.convert_tokens_to_ids("[ENC]") == len(vocab) + 1
    return fast


def special_ids(tk) -> dict:
    c = tk.convert_tokens_to_ids
    return {"pad": c("[PAD]"), "unk": c("[UNK]"), "cls": c("[CLS]"), "sep": c("[SEP]"), "mask": c("[MASK]"),
            "bos": c("[DEC]"), "dec": c("[DEC]"), "enc": c("[ENC]")}


def tokenize(tk, texts) -> dict:
    enc = tk(texts, padding="longest", return_tensors="np")
    return {"texts": list(texts), "input_ids": enc["input_ids"].astype(np.int32),
            "attention_mask": enc["attention_mask"].astype(np.int32),
            "tokens": [tk.convert_ids_to_tokens(r) for r in enc["input_ids"].tolist()]}


# ----------------------------------------------------------------------------- images

def load_images(size: int) -> tuple[np.ndarray, dict]:
    """2 real photos: tf.io.decode_jpeg -> tf.image.resize(size x size, bicubic, antialias=True) (PIL is not
    installed; BlipImageProcessor resizes with PIL bicubic) -> round to uint8 -> /255 -> (x - mean) / std."""
    import tensorflow as tf

    out = []
    for name in IMAGES:
        raw = tf.io.read_file(str(hc.REPO.parent / "shared" / "data" / "nips17-dev" / name))
        img = tf.io.decode_jpeg(raw, channels=3)
        img = tf.image.resize(tf.cast(img, tf.float32), [size, size], method="bicubic", antialias=True)
        img = tf.clip_by_value(tf.round(img), 0, 255).numpy().astype(np.float64) / 255.0
        img = (img - np.array(MEAN)) / np.array(STD)
        out.append(img.transpose(2, 0, 1))
    x = np.stack(out).astype(np.float32)
    return x, {"files": [f"shared/data/nips17-dev/{n}" for n in IMAGES],
               "preprocessing": "tf.io.decode_jpeg(channels=3) -> tf.image.resize([64,64], bicubic, antialias=True) "
                                "-> round, clip to [0,255] -> /255 -> (x - mean) / std (OpenAI CLIP mean/std) -> NCHW"}


# ----------------------------------------------------------------------------- models

def use_erf_gelu() -> None:
    import transformers.activations_tf as A

    A.ACT2FN["gelu"] = A._gelu


def blip_config(vocab_size: int, ids: dict, vision: dict, text: dict, e: int):
    import transformers as T

    t = dict(text)
    t.setdefault("initializer_range", TEXT_INIT)
    t.setdefault("vocab_size", vocab_size)
    t.setdefault("bos_token_id", ids["bos"])
    t.setdefault("pad_token_id", ids["pad"])
    t.setdefault("sep_token_id", ids["sep"])
    # BlipTextConfig's default eos_token_id is 2 (the real checkpoints keep it); HF's generate() never uses it
    # (it passes eos_token_id=sep_token_id). Ours is [SEP] too, so nothing else can end a sequence.
    t.setdefault("eos_token_id", ids["sep"])
    # BlipVisionConfig's default initializer_range is 1e-10 (all weights ~0): use 0.02 as export_hf.py
    # num_channels: TF models infer their save spec from it (BlipVisionConfig does not define it by default)
    v = dict(vision, initializer_range=0.02, num_channels=3)
    return T.BlipConfig(text_config=t, vision_config=v, image_text_hidden_size=e)


def build_models(config, seed: int, perturb: bool = True):
    """The three HF task models, each seeded with tf_keras.utils.set_random_seed(seed + k), built by one call."""
    import tensorflow as tf
    import tf_keras
    import transformers as T

    use_erf_gelu()
    s = config.vision_config.image_size
    px = tf.zeros((1, 3, s, s), tf.float32)
    ids = tf.constant([[config.text_config.bos_token_id, 5, 6]], tf.int32)
    models, perturbed = {}, {}
    tf_keras.utils.set_random_seed(seed)
    m = T.TFBlipForImageTextRetrieval(config)
    m(input_ids=ids, pixel_values=px, training=False)
    models["retrieval"] = m
    tf_keras.utils.set_random_seed(seed + 1)
    m = T.TFBlipForConditionalGeneration(config)
    m(pixel_values=px, input_ids=ids, training=False)
    models["caption"] = m
    tf_keras.utils.set_random_seed(seed + 2)
    m = T.TFBlipForQuestionAnswering(config)
    m(input_ids=ids, pixel_values=px, decoder_input_ids=ids, training=False)
    models["vqa"] = m
    for k, m in models.items():
        perturbed[k] = hc.perturb_constant_weights(m, seed) if perturb else []
        if perturb and EOS_BIAS.get(k):
            b = m.text_decoder.cls.predictions.bias
            b.assign(tf.tensor_scatter_nd_add(b, [[config.text_config.sep_token_id]], [EOS_BIAS[k]]))
    return models, perturbed


def image_ones(image_embeds, dtype):
    import tensorflow as tf
    return tf.ones(tf.shape(image_embeds)[:-1], dtype=dtype)


def l2n(x):
    import tensorflow as tf
    return tf.linalg.normalize(x, ord=2, axis=-1)[0]


# Each graph: name -> (inputs [(name, dtype, shape)], fn(model, **inputs) -> {output: tensor}).
# The functions are exactly the HF task code paths (modeling_tf_blip.py), cut at the graph boundary.
def graph_defs(C: int, Cv: int):
    import tensorflow as tf

    px = lambda s: [("pixel_values", tf.float32, [None, 3, s, s])]  # noqa: E731
    txt = [("input_ids", tf.int32, [None, None]), ("attention_mask", tf.int32, [None, None])]
    img = [("image_embeds", tf.float32, [None, None, Cv])]

    def r_vision(m, pixel_values):
        e = m.vision_model(pixel_values=pixel_values, training=False)[0]
        return {"image_embeds": e, "image_feat": l2n(m.vision_proj(e[:, 0, :]))}

    def r_text(m, input_ids, attention_mask):
        q = m.text_encoder(input_ids=input_ids, attention_mask=attention_mask, return_dict=True,
                           training=False).last_hidden_state
        return {"text_feat": l2n(m.text_proj(q[:, 0, :]))}

    def r_itm(m, input_ids, attention_mask, image_embeds):
        q = m.text_encoder(input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=image_embeds,
                           encoder_attention_mask=image_ones(image_embeds, tf.int64), return_dict=True,
                           training=False).last_hidden_state
        return {"itm_logits": m.itm_head(q[:, 0, :])}

    def vision_only(m, pixel_values):
        return {"image_embeds": m.vision_model(pixel_values=pixel_values, training=False)[0]}

    def c_decoder(m, input_ids, attention_mask, image_embeds):
        out = m.text_decoder(input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=image_embeds,
                             encoder_attention_mask=image_ones(image_embeds, tf.int32), use_cache=False,
                             return_dict=True, training=False)
        return {"logits": out.logits[:, -1, :]}

    def v_question(m, input_ids, attention_mask, image_embeds):
        q = m.text_encoder(input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=image_embeds,
                           encoder_attention_mask=image_ones(image_embeds, tf.int32), return_dict=True,
                           training=False).last_hidden_state
        return {"question_embeds": q}

    def v_answer(m, input_ids, attention_mask, question_embeds, question_attention_mask):
        out = m.text_decoder(input_ids=input_ids, attention_mask=attention_mask,
                             encoder_hidden_states=question_embeds, encoder_attention_mask=question_attention_mask,
                             use_cache=False, return_dict=True, training=False)
        return {"logits": out.logits[:, -1, :]}

    return {
        "retrieval/vision": ("retrieval", None, r_vision),
        "retrieval/text": ("retrieval", txt, r_text),
        "retrieval/itm": ("retrieval", txt + img, r_itm),
        "caption/vision": ("caption", None, vision_only),
        "caption/decoder": ("caption", txt + img, c_decoder),
        "vqa/vision": ("vqa", None, vision_only),
        "vqa/question": ("vqa", txt + img, v_question),
        "vqa/answer": ("vqa", txt + [("question_embeds", tf.float32, [None, None, C]),
                                     ("question_attention_mask", tf.int32, [None, None])], v_answer),
    }, px


def make_serve(m, specs, fn):
    import tensorflow as tf

    sig = [tf.TensorSpec(shape, dtype, name=n) for n, dtype, shape in specs]
    names = [n for n, _, _ in specs]

    @tf.function(input_signature=sig)
    def serve(*args):
        return fn(m, **dict(zip(names, args)))

    return serve


def export_graph(m, name, specs, fn, out_dir: Path, feeds: dict | None, full: bool = False) -> dict:
    """SavedModel (one serving_default signature) -> tensorflowjs_converter -> out_dir. With feeds: checks the
    SavedModel signature against eager TF and returns the eager outputs."""
    import tensorflow as tf

    saved = hc.tmpdir("tfjs-turbo-blip-sm-")
    conv = hc.tmpdir("tfjs-turbo-blip-tfjs-") if full else out_dir
    info = {}
    try:
        hc.save_signature_model(m, saved, make_serve(m, specs, fn))
        if feeds is not None:
            eager = {k: v.numpy() for k, v in fn(m, **{k: tf.constant(v) for k, v in feeds.items()}).items()}
            sig = tf.saved_model.load(str(saved)).signatures["serving_default"]
            got = {k: v.numpy() for k, v in sig(**{k: tf.constant(v) for k, v in feeds.items()}).items()}
            for k in eager:
                d = float(np.max(np.abs(got[k] - eager[k])))
                assert d < 1e-5, (name, k, d)
                info.setdefault("savedModelVsEagerMaxAbsDiff", {})[k] = d
            info["outputs"] = eager
        cmd = hc.run_converter(saved, conv)
        if full:
            info["deletedShardBytes"] = sum(p.stat().st_size for p in conv.glob("*.bin"))
            out_dir.mkdir(parents=True, exist_ok=True)
            for stale in out_dir.glob("*.bin"):
                stale.unlink()
            shutil.copyfile(conv / "model.json", out_dir / "model.json")
    finally:
        shutil.rmtree(saved, ignore_errors=True)
        if full:
            shutil.rmtree(conv, ignore_errors=True)
    sig = hc.tfjs_signature(out_dir / "model.json")
    keys = sorted(info["outputs"]) if "outputs" in info else sorted(sig["outputs"])
    tensors = {}
    for i, k in enumerate(keys):
        tensors[k] = "Identity:0" if i == 0 else f"Identity_{i}:0"
    info["signature"] = sig
    info["outputTensors"] = tensors
    info["converterCommand"] = " ".join(cmd)
    return info


# ----------------------------------------------------------------------------- text-side dropping

def keep_count(n0: int, layer: int, drop_rate: float, drop_max: float) -> int:
    """max(floor(N0*(1-drop_max)), floor((1-drop_rate*(layer+1))*N0)) in float64, evaluated in this order."""
    return max(int(math.floor(n0 * (1.0 - drop_max))), int(math.floor((1.0 - drop_rate * (layer + 1)) * n0)))


def text_forward_dropping(text_model, input_ids, attention_mask, image_embeds, *, is_decoder: bool,
                          drop_rate: float | None, drop_max: float = 0.8, rank: str = "all", mask_dtype=None):
    """Runs an HF TFBlipTextModel layer by layer (HF's own embeddings, masks and TFBlipTextLayer calls with
    output_attentions=True). After the cross-attention of layer i, the image tokens (and their mask entries)
    are reduced to the top keep_count(N0, i) by the cross-attention probabilities summed over heads and over
    ALL text positions (rank 'all'; padded text positions included, as the graph op sees them) or over heads
    at text position 0 only (rank 'first'); sorted descending, stable; the kept tokens go on to layer i+1 in
    that order. drop_rate None: no dropping (must equal HF's own forward).
    Returns (last_hidden_state, kept: per layer [B][k] indices into the ORIGINAL image-token order,
    margins)."""
    import tensorflow as tf
    from transformers.tf_utils import invert_attention_mask

    ids = tf.constant(input_ids)
    am = tf.constant(attention_mask)
    B, T = input_ids.shape
    h = text_model.embeddings(input_ids=ids, training=False)
    ext = text_model.get_extended_attention_mask(am, (B, T), is_decoder)
    enc = tf.constant(image_embeds)
    n0 = int(enc.shape[1])
    emask = tf.ones((B, n0), dtype=mask_dtype or tf.int32)
    orig = np.tile(np.arange(n0), (B, 1))
    kept, margins = [], {"minCutGap": math.inf, "minOrderGap": math.inf}
    for i, layer in enumerate(text_model.encoder.layer):
        outs = layer(h, ext, None, enc, invert_attention_mask(emask), None, True, training=False)
        h = outs[0]
        if drop_rate is None:
            continue
        cross = outs[2].numpy().astype(np.float64)  # [B, heads, T, N] cross-attention probabilities
        score = cross.sum(axis=(1, 2)) if rank == "all" else cross[:, :, 0, :].sum(axis=1)
        k = keep_count(n0, i, drop_rate, drop_max)
        k = min(k, score.shape[1])
        order = np.argsort(-score, axis=1, kind="stable")[:, :k]
        for b in range(B):
            s = np.sort(score[b])[::-1]
            if k < len(s):
                margins["minCutGap"] = min(margins["minCutGap"], float(s[k - 1] - s[k]))
            if k > 1:
                margins["minOrderGap"] = min(margins["minOrderGap"], float(np.min(s[:k - 1] - s[1:k])))
        enc = tf.gather(enc, order, batch_dims=1)
        emask = tf.gather(emask, order, batch_dims=1)
        orig = np.take_along_axis(orig, order, axis=1)
        kept.append(orig.tolist())
    return h, kept, margins


# ----------------------------------------------------------------------------- vision Turbo

def vision_net(model, config):
    """turbo_ref's numpy BLIP vision net from the task model's vision weights (names as TFBlipVisionModel)."""
    import turbo_ref as tr

    w = {}
    for v in model.vision_model.weights:
        rest = v.name.split("vision_model/", 1)[1]
        w["vision_model/" + rest] = v.numpy()
    meta = {"config": config.vision_config.to_dict()}
    return tr.hf_small_net("blip", w, meta), w


def vision_forward_sizes(net, pixels, s):
    """turbo_ref.forward with the token sizes returned as well (same steps, same functions)."""
    import turbo_ref as tr

    x = tr.embed(net, pixels)
    L = len(net.layers)
    sched = tr.r_schedule(s.get("r", 0), L)
    size = None
    toks, merged = [], 0
    stats = tr.MergeStats()
    for li, lp in enumerate(net.layers):
        B, N, C = x.shape
        Hh = net.heads
        d = C // Hh
        h = tr.layer_norm(x, *lp["ln1"])
        q = tr.dense(h, lp["q"]).reshape(B, N, Hh, d).transpose(0, 2, 1, 3)
        k = tr.dense(h, lp["k"]).reshape(B, N, Hh, d).transpose(0, 2, 1, 3)
        v = tr.dense(h, lp["v"]).reshape(B, N, Hh, d).transpose(0, 2, 1, 3)
        sc = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
        if s.get("propAttn", True) and size is not None:
            sc = sc + np.log(size)[:, None, None, :]
        sc = sc - sc.max(-1, keepdims=True)
        P = np.exp(sc)
        P = P / P.sum(-1, keepdims=True)
        o = (P @ v).transpose(0, 2, 1, 3).reshape(B, N, C)
        x = x + tr.dense(o, lp["o"])
        if sched[li] > 0:
            x, size, _ = tr.turbo_merge(x, k.mean(1), P[:, :, 0, :].mean(1), size, sched[li],
                                        alpha=s.get("alpha", 0.0), beta=s.get("beta", 1.0), gamma=s.get("gamma", 0.0),
                                        layer=merged, protected=1, r_threshold=s.get("rThreshold", 0), stats=stats)
            merged += 1
        h = tr.layer_norm(x, *lp["ln2"])
        x = x + tr.dense(tr.gelu(tr.dense(h, lp["fc1"])), lp["fc2"])
        toks.append(int(x.shape[1]))
    out = net.head(x)
    if size is None:
        size = np.ones(x.shape[:2])
    return out, size, toks, stats


# ----------------------------------------------------------------------------- generation

def gen_config_dict(model, kwargs: dict) -> dict:
    g = model.text_decoder.generation_config.to_dict()
    g = {k: v for k, v in g.items() if not k.startswith("_")}
    g.update({k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in kwargs.items()})
    return g


def patch_beam_search(model) -> None:
    """transformers 4.57.6 TF generate(num_beams > 1) CRASHES for BLIP: _expand_inputs_for_generation expands
    every model kwarg to [B, beams, ...] and beam_search flattens only `encoder_outputs` and `attention_mask`, so
    the decoder receives encoder_hidden_states [B, beams, N, C] ("too many values to unpack (expected 3)" in
    TFBlipTextModel.call). Fix, applied to the instance: flatten encoder_hidden_states / encoder_attention_mask
    to [B*beams, ...] (batch-major, beams consecutive = flatten_beam_dim = PyTorch's repeat_interleave) in
    prepare_inputs_for_generation. Greedy (rank 3 already) is unaffected; the search algorithm is HF's own."""
    import tensorflow as tf

    td = model.text_decoder
    if getattr(td, "_blip_beam_patch", False):
        return
    orig = td.prepare_inputs_for_generation

    def prep(input_ids, past_key_values=None, attention_mask=None, **model_kwargs):
        out = orig(input_ids, past_key_values=past_key_values, attention_mask=attention_mask, **model_kwargs)
        e, m = out.get("encoder_hidden_states"), out.get("encoder_attention_mask")
        if e is not None and e.shape.rank == 4:
            out["encoder_hidden_states"] = tf.reshape(e, tf.concat([[-1], tf.shape(e)[2:]], 0))
        if m is not None and m.shape.rank == 3:
            out["encoder_attention_mask"] = tf.reshape(m, tf.concat([[-1], tf.shape(m)[2:]], 0))
        return out

    object.__setattr__(td, "prepare_inputs_for_generation", prep)
    object.__setattr__(td, "_blip_beam_patch", True)


def run_generate(model, task, pixel_values, input_ids, attention_mask, kwargs):
    import tensorflow as tf

    out = model.generate(pixel_values=tf.constant(pixel_values),
                         input_ids=None if input_ids is None else tf.constant(input_ids),
                         attention_mask=None if attention_mask is None else tf.constant(attention_mask),
                         return_dict_in_generate=True, output_scores=True, **kwargs)
    res = {"sequences": out.sequences.numpy().tolist()}
    if getattr(out, "sequences_scores", None) is not None:
        res["sequencesScores"] = hc.f32_list(out.sequences_scores.numpy())
    return res


# ----------------------------------------------------------------------------- small export

def jarr(a):
    """float32 values written with the fewest digits that parse back to the same float32 (turbo_ref.f32_shortest)."""
    import turbo_ref as tr

    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return {"shape": list(a.shape), "dtype": "int32", "data": a.tolist()}
    return {"shape": list(a.shape), "dtype": "float32", "data": tr.f32_shortest(a)}


def greedy_margins(step_fn, sequences, prompt_len: int, eos: int) -> dict:
    """Re-runs the last-position logits on every prefix of the greedy sequences: the smallest gap between the
    best and second-best logit at any step of an unfinished row (a float32 re-implementation must pick the
    same token when the gap is well above its rounding noise)."""
    seqs = np.asarray(sequences, np.int32)
    gap, steps = math.inf, 0
    done = np.zeros(len(seqs), bool)
    for t in range(prompt_len, seqs.shape[1]):
        logits = step_fn(seqs[:, :t])
        top2 = np.sort(logits, axis=-1)[:, -2:]
        for b in range(len(seqs)):
            if not done[b]:
                assert int(np.argmax(logits[b])) == int(seqs[b, t]), (b, t)
                gap = min(gap, float(top2[b, 1] - top2[b, 0]))
                steps += 1
        done |= seqs[:, t] == eos
    return {"minTop1Top2LogitGap": gap, "stepsChecked": steps}


def export_small(only: set[str] | None) -> None:
    import tensorflow as tf
    import transformers as T

    t0 = time.time()
    out = OUT_SMALL
    out.mkdir(parents=True, exist_ok=True)
    tk = build_tokenizer(out)
    ids = special_ids(tk)
    V = len(tk)
    config = blip_config(V, ids, SMALL_VISION, SMALL_TEXT, SMALL_E)
    models, perturbed = build_models(config, SEED)
    C = config.text_config.hidden_size
    Cv = config.vision_config.hidden_size
    S = config.vision_config.image_size
    N0 = (S // config.vision_config.patch_size) ** 2 + 1

    px, img_info = load_images(S)
    px.tofile(out / "pixel_values.f32")
    B = px.shape[0]

    # ---- fixed text inputs (BertTokenizerFast, as BlipProcessor)
    rt = tokenize(tk, RETRIEVAL_TEXTS)
    vq = tokenize(tk, VQA_QUESTIONS)
    cp = tokenize(tk, [CAPTION_PROMPT] * B)

    # ---- eager reference tensors that feed later graphs
    r, c, v = models["retrieval"], models["caption"], models["vqa"]
    img = {k: models[k].vision_model(pixel_values=tf.constant(px), training=False)[0].numpy() for k in models}

    # ITM on every (image i, text j) pair, image-major
    pair_img = np.repeat(img["retrieval"], len(RETRIEVAL_TEXTS), axis=0)
    pair_ids = np.tile(rt["input_ids"], (B, 1))
    pair_mask = np.tile(rt["attention_mask"], (B, 1))
    # caption decoder prefixes: HF generate() replaces input_ids[:, 0] by bos and drops the last token ([SEP])
    cap_prefix = np.concatenate([np.full((B, 1), ids["bos"], np.int32), cp["input_ids"][:, 1:-1]], 1)
    cap_prefix_mask = cp["attention_mask"][:, :-1]
    bos_only = np.full((B, 1), ids["bos"], np.int32)
    # VQA: question embeds, then the answer decoder on [bos] and on [bos, 2 tokens]
    q_embeds = v.text_encoder(input_ids=tf.constant(vq["input_ids"]), attention_mask=tf.constant(vq["attention_mask"]),
                              encoder_hidden_states=tf.constant(img["vqa"]), return_dict=True,
                              training=False).last_hidden_state.numpy()
    ans_prefix = np.array([[ids["bos"], tk.convert_tokens_to_ids("two"), tk.convert_tokens_to_ids("dogs")]] * B, np.int32)

    G, px_spec = graph_defs(C, Cv)
    feeds = {
        "retrieval/vision": [("main", {"pixel_values": px})],
        "retrieval/text": [("main", {"input_ids": rt["input_ids"], "attention_mask": rt["attention_mask"]})],
        "retrieval/itm": [("pairs", {"input_ids": pair_ids, "attention_mask": pair_mask, "image_embeds": pair_img})],
        "caption/vision": [("main", {"pixel_values": px})],
        "caption/decoder": [
            ("bos", {"input_ids": bos_only, "attention_mask": np.ones_like(bos_only), "image_embeds": img["caption"]}),
            ("prompt", {"input_ids": cap_prefix, "attention_mask": cap_prefix_mask, "image_embeds": img["caption"]}),
        ],
        "vqa/vision": [("main", {"pixel_values": px})],
        "vqa/question": [("main", {"input_ids": vq["input_ids"], "attention_mask": vq["attention_mask"],
                                   "image_embeds": img["vqa"]})],
        "vqa/answer": [
            ("bos_generate_mask", {"input_ids": bos_only, "attention_mask": np.ones_like(bos_only),
                                   "question_embeds": q_embeds,
                                   "question_attention_mask": np.ones(q_embeds.shape[:2], np.int32)}),
            ("prefix_question_mask", {"input_ids": ans_prefix, "attention_mask": np.ones_like(ans_prefix),
                                      "question_embeds": q_embeds, "question_attention_mask": vq["attention_mask"]}),
        ],
    }
    graphs = {}
    for gname, (task, specs, fn) in G.items():
        if only and gname not in only:
            continue
        specs = specs or px_spec(S)
        cases = feeds[gname]
        info = export_graph(models[task], gname, specs, fn, out / gname, cases[0][1])
        case_out = {cases[0][0]: info.pop("outputs")}
        for cname, f in cases[1:]:
            case_out[cname] = {k: t.numpy() for k, t in fn(models[task], **{k: tf.constant(x) for k, x in f.items()}).items()}
        graphs[gname] = {
            "task": task,
            "inputs": [{"name": n, "dtype": d.name, "shape": [-1 if s is None else s for s in shp]} for n, d, shp in specs],
            "outputs": {k: {"tensor": info["outputTensors"][k], "shape": list(val.shape)}
                        for k, val in case_out[cases[0][0]].items()},
            "signature": info["signature"],
            "savedModelVsEagerMaxAbsDiff": info["savedModelVsEagerMaxAbsDiff"],
            "cases": {cn: {"inputs": {k: (jarr(x) if k != "pixel_values" else {"file": "pixel_values.f32",
                                                                                 "shape": list(x.shape), "dtype": "float32"})
                                      for k, x in f.items()},
                           "outputs": {k: jarr(val) for k, val in case_out[cn].items()}}
                      for cn, f in cases},
        }
        print(f"[{gname}] exported ({time.time() - t0:.0f}s)", flush=True)

    # ---- retrieval: ITC similarity and ITM logits (the HF model's own call, both paths)
    img_feat = graphs.get("retrieval/vision", {}).get("cases", {}).get("main", {}).get("outputs", {}).get("image_feat")
    ret_model_out = {}
    for use_itm in (False, True):
        o = r(input_ids=tf.constant(np.tile(rt["input_ids"], (1, 1))), attention_mask=tf.constant(rt["attention_mask"]),
              pixel_values=tf.constant(px[:1].repeat(len(RETRIEVAL_TEXTS), 0)), use_itm_head=use_itm, training=False)
        ret_model_out["itm" if use_itm else "itc"] = o.itm_score.numpy()
    vf = l2n(r.vision_proj(tf.constant(img["retrieval"][:, 0, :]))).numpy()
    tf_ = l2n(r.text_proj(r.text_encoder(input_ids=tf.constant(rt["input_ids"]),
                                         attention_mask=tf.constant(rt["attention_mask"]), return_dict=True,
                                         training=False).last_hidden_state[:, 0, :])).numpy()
    sim = vf @ tf_.T
    itm_pairs = r.itm_head(r.text_encoder(input_ids=tf.constant(pair_ids), attention_mask=tf.constant(pair_mask),
                                          encoder_hidden_states=tf.constant(pair_img), return_dict=True,
                                          training=False).last_hidden_state[:, 0, :]).numpy()
    # HF's own TFBlipForImageTextRetrieval.call for image 0 vs every text (the graphs must agree with it)
    assert np.max(np.abs(ret_model_out["itc"][0] - sim[0])) < 1e-5, "ITC path differs from HF call"
    assert np.max(np.abs(ret_model_out["itm"] - itm_pairs[:len(RETRIEVAL_TEXTS)])) < 1e-5, "ITM path differs from HF call"

    # ---- generate(): greedy and beam search, max_length MAX_LENGTH
    gen = {}
    patch_beam_search(c)
    patch_beam_search(v)
    for nb in (1, 3):
        kw = {"max_length": MAX_LENGTH, "num_beams": nb}
        tag = "greedy" if nb == 1 else f"beams{nb}"
        gen[f"caption_{tag}_noprompt"] = {
            "call": f"TFBlipForConditionalGeneration.generate(pixel_values, max_length={MAX_LENGTH}, num_beams={nb})",
            "kwargs": kw, "effectiveDecoderCall": {
                "input_ids": bos_only.tolist(), "attention_mask": None, "eos_token_id": ids["sep"],
                "pad_token_id": ids["pad"], "encoder_attention_mask": "ones [B, N] int32"},
            "generationConfig": gen_config_dict(c, dict(kw, eos_token_id=ids["sep"], pad_token_id=ids["pad"])),
            **run_generate(c, "caption", px, None, None, kw)}
        gen[f"caption_{tag}_prompt"] = {
            "call": f"TFBlipForConditionalGeneration.generate(pixel_values, input_ids, attention_mask, "
                    f"max_length={MAX_LENGTH}, num_beams={nb})",
            "prompt": CAPTION_PROMPT, "input_ids": cp["input_ids"].tolist(), "attention_mask": cp["attention_mask"].tolist(),
            "kwargs": kw, "effectiveDecoderCall": {
                "input_ids": cap_prefix.tolist(), "attention_mask": cap_prefix_mask.tolist(),
                "eos_token_id": ids["sep"], "pad_token_id": ids["pad"], "encoder_attention_mask": "ones [B, N] int32"},
            "generationConfig": gen_config_dict(c, dict(kw, eos_token_id=ids["sep"], pad_token_id=ids["pad"])),
            **run_generate(c, "caption", px, cp["input_ids"], cp["attention_mask"], kw)}
        g = v.generate(input_ids=tf.constant(vq["input_ids"]), pixel_values=tf.constant(px),
                       attention_mask=tf.constant(vq["attention_mask"]), return_dict_in_generate=True,
                       output_scores=True, **kw)
        gen[f"vqa_{tag}"] = {
            "call": f"TFBlipForQuestionAnswering.generate(input_ids, pixel_values, attention_mask, "
                    f"max_length={MAX_LENGTH}, num_beams={nb})",
            "questions": VQA_QUESTIONS, "input_ids": vq["input_ids"].tolist(),
            "attention_mask": vq["attention_mask"].tolist(), "kwargs": kw,
            "effectiveDecoderCall": {"input_ids": bos_only.tolist(), "attention_mask": None,
                                     "encoder_hidden_states": "question_embeds (text_encoder on the question + image)",
                                     "encoder_attention_mask": "ONES [B, Tq] int32 (not the question's attention_mask)",
                                     "eos_token_id": ids["sep"], "pad_token_id": ids["pad"]},
            "generationConfig": gen_config_dict(v, dict(kw, eos_token_id=ids["sep"], pad_token_id=ids["pad"])),
            "sequences": g.sequences.numpy().tolist(),
            **({"sequencesScores": hc.f32_list(g.sequences_scores.numpy())}
               if getattr(g, "sequences_scores", None) is not None else {})}
    cap_step = {
        "noprompt": lambda x: G["caption/decoder"][2](c, input_ids=tf.constant(x), attention_mask=tf.ones_like(x),
                                                     image_embeds=tf.constant(img["caption"]))["logits"].numpy()}
    cap_step["prompt"] = cap_step["noprompt"]
    vqa_step = lambda x: G["vqa/answer"][2](  # noqa: E731
        v, input_ids=tf.constant(x), attention_mask=tf.ones_like(x), question_embeds=tf.constant(q_embeds),
        question_attention_mask=tf.ones(q_embeds.shape[:2], tf.int32))["logits"].numpy()
    gen["caption_greedy_noprompt"]["margins"] = greedy_margins(cap_step["noprompt"], gen["caption_greedy_noprompt"]["sequences"], 1, ids["sep"])
    gen["caption_greedy_prompt"]["margins"] = greedy_margins(cap_step["prompt"], gen["caption_greedy_prompt"]["sequences"],
                                                             cap_prefix.shape[1], ids["sep"])
    gen["vqa_greedy"]["margins"] = greedy_margins(vqa_step, gen["vqa_greedy"]["sequences"], 1, ids["sep"])
    for k, gv in gen.items():
        gv["decoded"] = [tk.decode(s, skip_special_tokens=True) for s in gv["sequences"]]
        gv["alsoPassed"] = {"return_dict_in_generate": True, "output_scores": True}
        if gv["kwargs"]["num_beams"] > 1:
            gv["beamSearchPatch"] = ("transformers 4.57.6 TF beam search crashes for BLIP (encoder_hidden_states left "
                                     "[B, beams, N, C]); run with export_blip.patch_beam_search (flattens them to "
                                     "[B*beams, ...] in prepare_inputs_for_generation); the search itself is HF's")
        print(f"[generate {k}] {gv['sequences']}", flush=True)

    # ---- text-side dropping reference
    drop = {"itm": {}, "caption_decoder": {}, "vqa_question": {}}
    te_r, td_c, te_v = r.text_encoder, c.text_decoder, v.text_encoder
    base_itm, _, _ = text_forward_dropping(te_r, pair_ids, pair_mask, pair_img, is_decoder=False, drop_rate=None,
                                           mask_dtype=tf.int64)
    assert np.max(np.abs(r.itm_head(base_itm[:, 0, :]).numpy() - itm_pairs)) < 1e-5
    base_cap, _, _ = text_forward_dropping(td_c.bert, cap_prefix, cap_prefix_mask, img["caption"], is_decoder=True,
                                           drop_rate=None)
    base_cap_logits = td_c.cls(base_cap).numpy()[:, -1, :]
    dec_prompt = graphs.get("caption/decoder", {}).get("cases", {}).get("prompt", {}).get("outputs", {}).get("logits")
    if dec_prompt is not None:
        assert np.max(np.abs(base_cap_logits - np.asarray(dec_prompt["data"]))) < 1e-5
    base_q, _, _ = text_forward_dropping(te_v, vq["input_ids"], vq["attention_mask"], img["vqa"], is_decoder=False,
                                         drop_rate=None)
    assert np.max(np.abs(base_q.numpy() - q_embeds)) < 1e-5
    for s in DROP_SETTINGS:
        key = f"rate{s['dropRate']}_max{s['dropMax']}_{s['rank']}"
        kw = dict(drop_rate=s["dropRate"], drop_max=s["dropMax"], rank=s["rank"])
        h, kept, mg = text_forward_dropping(te_r, pair_ids, pair_mask, pair_img, is_decoder=False, mask_dtype=tf.int64, **kw)
        drop["itm"][key] = {"setting": s, "keptIndices": kept, "margins": mg,
                            "outputs": {"itm_logits": jarr(r.itm_head(h[:, 0, :]).numpy())}}
        h, kept, mg = text_forward_dropping(td_c.bert, cap_prefix, cap_prefix_mask, img["caption"], is_decoder=True, **kw)
        drop["caption_decoder"][key] = {"setting": s, "keptIndices": kept, "margins": mg,
                                        "outputs": {"logits": jarr(td_c.cls(h).numpy()[:, -1, :])}}
        h, kept, mg = text_forward_dropping(te_v, vq["input_ids"], vq["attention_mask"], img["vqa"], is_decoder=False, **kw)
        ans = v.text_decoder(input_ids=tf.constant(ans_prefix), attention_mask=tf.constant(np.ones_like(ans_prefix)),
                             encoder_hidden_states=h, encoder_attention_mask=tf.constant(vq["attention_mask"]),
                             use_cache=False, return_dict=True, training=False).logits.numpy()[:, -1, :]
        drop["vqa_question"][key] = {"setting": s, "keptIndices": kept, "margins": mg,
                                     "outputs": {"question_embeds": jarr(h.numpy()),
                                                 "answer_logits_prefix_question_mask": jarr(ans)}}
        print(f"[drop {key}] itm kept {[len(k[0]) for k in drop['itm'][key]['keptIndices']]} "
              f"margins itm {drop['itm'][key]['margins']} cap {drop['caption_decoder'][key]['margins']} "
              f"vqa {mg}", flush=True)
    drop_doc = {
        "source": "converters/python/export_blip.py text_forward_dropping: HF TFBlipTextModel run layer by layer "
                  "(its embeddings, get_extended_attention_mask, invert_attention_mask, TFBlipTextLayer with "
                  "output_attentions=True), float32 TF; ranking in float64 numpy",
        "rule": "after the cross-attention of text layer i (0-based), score[b, n] = sum over heads and over ALL T text "
                "positions (padded ones included) of the cross-attention probabilities (rank 'all'), or sum over heads "
                "at text position 0 only (rank 'first'); order = stable argsort of -score; keep the first "
                "k_i = max(floor(N0*(1-dropMax)), floor((1-dropRate*(i+1))*N0)) (float64, in this order) image tokens and "
                "their image-attention-mask entries, in that (descending) order, as layer i+1's cross-attention keys/values. "
                "N0 = number of image tokens the text side received. The reduction after the LAST layer does not change "
                "any output (recorded anyway). The class token (image token 0) is NOT protected.",
        "keepCounts": {f"N0={N0} rate{s['dropRate']} max{s['dropMax']}":
                       [keep_count(N0, i, s["dropRate"], s["dropMax"]) for i in range(config.text_config.num_hidden_layers)]
                       for s in DROP_SETTINGS[:2]},
        "keepCountNote": "float64 rounding matters: 1-0.8 = 0.19999999999999996, so floor(65*(1-0.8)) = 12, not 13",
        "keptIndices": "per layer, per batch item, indices into the ORIGINAL image-token order, in kept (descending-score) order",
        "margins": "minCutGap: smallest score gap between the k-th and (k+1)-th token at any cut; minOrderGap: smallest "
                   "gap between consecutive kept tokens (the order of kept tokens only matters for the recorded indices "
                   "and tie-breaks; cross-attention itself is order-invariant)",
        "inputs": {
            "itm": {"graph": "retrieval/itm", "case": "pairs", "note": "image-major pairs (image i, text j) -> row i*3+j",
                    "input_ids": pair_ids.tolist(), "attention_mask": pair_mask.tolist(),
                    "image_embeds": "retrieval/vision image_embeds rows repeated 3x (reference.json graphs['retrieval/itm'].cases.pairs)"},
            "caption_decoder": {"graph": "caption/decoder", "case": "prompt", "input_ids": cap_prefix.tolist(),
                                "attention_mask": cap_prefix_mask.tolist(), "image_embeds": "caption/vision image_embeds"},
            "vqa_question": {"graph": "vqa/question", "case": "main", "input_ids": vq["input_ids"].tolist(),
                             "attention_mask": vq["attention_mask"].tolist(), "image_embeds": "vqa/vision image_embeds",
                             "answerPrefix": ans_prefix.tolist(),
                             "answerNote": "answer_logits_prefix_question_mask: vqa/answer on answerPrefix with the "
                                           "dropped question_embeds and question_attention_mask = the question's mask"},
        },
        "N0": N0,
        "results": drop,
    }
    hc.write_json(out / "text-drop-reference.json", drop_doc)

    # ---- vision Turbo on the retrieval vision weights
    net, w = vision_net(r, config)
    np.savez(out / "retrieval" / "vision" / "weights.npz", **w)
    vt = []
    for s in VISION_TURBO_SETTINGS:
        o, size, toks, st = vision_forward_sizes(net, px, s)
        res = {"config": s, "tokensAfterEachBlock": toks, "margins": st.as_dict(),
               "image_embeds": jarr(o["last_hidden_state"]), "sizes": jarr(size)}
        if s.get("r", 0) == 0:
            d = float(np.max(np.abs(o["last_hidden_state"] - img["retrieval"])))
            assert d < 1e-4, d
            res["numpyVsTfMaxAbsDiff"] = d
        else:
            emb = o["last_hidden_state"].astype(np.float32)
            res["image_feat"] = jarr(l2n(r.vision_proj(tf.constant(emb[:, 0, :]))).numpy())
            pe = np.repeat(emb, len(RETRIEVAL_TEXTS), axis=0)
            res["itm_logits_pairs"] = jarr(G["retrieval/itm"][2](r, input_ids=tf.constant(pair_ids),
                                                                 attention_mask=tf.constant(pair_mask),
                                                                 image_embeds=tf.constant(pe))["itm_logits"].numpy())
        vt.append(res)
        print(f"[vision turbo {s}] tokens {toks} margins {st.as_dict()}", flush=True)
    hc.write_json(out / "vision-turbo-reference.json", {
        "source": "converters/python/turbo_ref.py (numpy float64) on retrieval/vision's weights (weights.npz, "
                  "names as TFBlipVisionModel with prefix vision_model/); same rules as "
                  "spec/fixtures/hf/*-small/turbo-reference.json (protected class token, propAttn on)",
        "inputs": {"pixel_values": {"file": "pixel_values.f32", "shape": list(px.shape), "dtype": "float32"}},
        "outputs": "image_embeds = post_layernorm(tokens) [B, N_L, 64] (what retrieval/vision outputs, merged), sizes [B, N_L]; "
                   "image_feat and itm_logits_pairs (image-major (image, text) pairs as text-drop-reference itm) computed by TF "
                   "from the float32-rounded merged image_embeds",
        "results": vt,
    })

    # ---- config.json
    tc = config.text_config
    conv = {
        "tokenization": "BertTokenizerFast(tokenizer_file=tokenizer.json) as BlipProcessor: lowercase, '[CLS] text [SEP]', "
                        "padding='longest' to the right with [PAD]=0, attention_mask 1/0",
        "retrieval": {
            "itc": "text_feat = normalize(text_proj(text_encoder(input_ids, attention_mask)[:, 0])) WITHOUT image "
                   "(no cross-attention, bidirectional self-attention); image_feat = normalize(vision_proj(image_embeds[:, 0])); "
                   "similarity = image_feat @ text_feat^T (no temperature/logit scale in HF's TFBlipForImageTextRetrieval)",
            "itm": "itm_logits = itm_head(text_encoder(input_ids, attention_mask, encoder_hidden_states=image_embeds, "
                   "encoder_attention_mask=ones[B,N] int64)[:, 0]); match probability = softmax(itm_logits)[:, 1]",
            "inputIdsReplacement": "NONE: HF passes input_ids unchanged ([CLS] first) for both ITC and ITM; the original "
                                   "Salesforce BLIP replaces input_ids[:,0] by [ENC] for ITM, HF does not",
        },
        "caption": {
            "generate": "TFBlipForConditionalGeneration.generate: image_attention_mask = ones [B,N] int32; input_ids None -> "
                        "[[bos, eos_token_id(config)]] tiled over the batch; then input_ids[:, 0] := bos ([DEC]) and the "
                        "LAST token is dropped (input_ids[:, :-1], attention_mask[:, :-1]) - i.e. a tokenized prompt "
                        "'[CLS] a picture of [SEP]' becomes '[DEC] a picture of'; text_decoder.generate(eos_token_id="
                        "sep_token_id, pad_token_id=pad_token_id, ...)",
            "returned": "the sequences include the prompt (decoder-only generate), starting with [DEC]; after eos the "
                        "sequence is padded with pad_token_id (greedy) ; length <= max_length (max_length counts the prompt)",
            "decoderMask": "causal self-attention (get_extended_attention_mask is_decoder=True) times attention_mask, "
                           "(1-m)*-10000 additive; cross-attention to all image tokens",
        },
        "vqa": {
            "question": "question_embeds = text_encoder(question input_ids UNCHANGED ([CLS] first, no [ENC] replacement), "
                        "attention_mask, encoder_hidden_states=image_embeds, encoder_attention_mask=ones) last_hidden_state "
                        "(bidirectional self-attention + cross-attention)",
            "generate": "TFBlipForQuestionAnswering.generate: decoder starts from [[bos]] ([DEC]), "
                        "encoder_hidden_states=question_embeds, encoder_attention_mask = ONES [B,Tq] int32 (NOT the "
                        "question's attention_mask, unlike TFBlipForQuestionAnswering.call which passes attention_mask); "
                        "eos_token_id=sep_token_id, pad_token_id=pad_token_id",
        },
        "generation": {
            "eosTokenId": ids["sep"], "padTokenId": ids["pad"], "bosTokenId": ids["bos"],
            "defaults": "GenerationConfig.from_model_config(text_config): max_length 20, num_beams 1, do_sample false, "
                        "length_penalty 1.0, early_stopping false, no repetition penalty, min_length 0",
            "greedy": "argmax of the last position's logits (first index on ties, tf.argmax); finished rows get pad; stops "
                      "when every row produced eos or at max_length",
            "beamSearch": "TF beam search (generation/tf_utils.py): per step log_softmax(logits) + running score; top 2*num_beams "
                          "over num_beams*V (first beam-hypothesis running score 0, others -1e9 at start); candidates among the "
                          "top num_beams of those 2K that end in eos become finished hypotheses with score "
                          "sum_logprobs / (generated_len)^length_penalty where generated_len = cur_len + 1 - prompt_len "
                          "(eos counted); eos candidates get -1e9 as running; next running beams = top num_beams of the rest; "
                          "finished pool = top num_beams of (old finished, new finished). Stop at max_length or when the best "
                          "running score / (cur_len - prompt_len)^lp is not above the worst finished score (early_stopping "
                          "false heuristic). Output: best finished hypothesis (or best running one if none finished), padded "
                          "with pad_token_id",
        },
        "imageAttentionMask": "all ones, built from image_embeds' shape inside every graph (as HF)",
        "maskValues": {"selfAttention": "(1 - mask) * -10000.0 added to the scores",
                       "crossAttention": "(1 - mask) * dtype.min of the integer mask dtype (int32: -2147483648, int64: "
                                         "-9.22e18) cast to float32, added to the scores"},
    }
    hc.write_json(out / "config.json", {
        "model": "BLIP (HF transformers TFBlipForImageTextRetrieval / TFBlipForConditionalGeneration / "
                 "TFBlipForQuestionAnswering), small random-weight configuration",
        "vision": {k: config.vision_config.to_dict()[k] for k in
                   ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "image_size",
                    "patch_size", "layer_norm_eps", "hidden_act")},
        "imageTokens": N0,
        "text": {k: tc.to_dict()[k] for k in
                 ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                  "max_position_embeddings", "encoder_hidden_size", "layer_norm_eps", "hidden_act",
                  "bos_token_id", "eos_token_id", "pad_token_id", "sep_token_id")},
        "imageTextHiddenSize": config.image_text_hidden_size,
        "specialTokens": ids,
        "vocabSize": V,
        "maxPositionEmbeddings": tc.max_position_embeddings,
        "image": {"size": S, "mean": MEAN, "std": STD, "layout": "NCHW float32", "resample": "bicubic",
                  "rescale": 1 / 255},
        "conventions": conv,
        "graphs": {g: {"inputs": d["inputs"], "outputs": d["outputs"]} for g, d in graphs.items()},
    })

    # ---- reference.json + meta
    doc = {
        "source": "TensorFlow eager HF models (float32); every graph's SavedModel signature checked against eager "
                  "(savedModelVsEagerMaxAbsDiff)",
        "pixelValues": {"file": "pixel_values.f32", "shape": list(px.shape), "dtype": "float32", **img_info},
        "texts": {"retrieval": {k: (val.tolist() if hasattr(val, "tolist") else val) for k, val in rt.items()},
                  "vqa": {k: (val.tolist() if hasattr(val, "tolist") else val) for k, val in vq.items()},
                  "captionPrompt": {k: (val.tolist() if hasattr(val, "tolist") else val) for k, val in cp.items()}},
        "graphs": graphs,
        "retrieval": {"itcSimilarity": jarr(sim), "itcNote": "[images, texts] = image_feat @ text_feat^T",
                      "itmLogits": jarr(itm_pairs.reshape(B, len(RETRIEVAL_TEXTS), 2)),
                      "itmNote": "[images, texts, 2]; HF TFBlipForImageTextRetrieval.call(image 0, every text) "
                                 "checked to give the same itm/itc within 1e-5"},
        "generate": gen,
    }
    hc.write_json(out / "reference.json", doc)
    hc.write_json(out / "meta.json", {
        "seed": SEED, "seeds": {"retrieval": SEED, "caption": SEED + 1, "vqa": SEED + 2},
        "weights": "random: tf_keras.utils.set_random_seed(seed) then HF init (vision initializer_range 0.02), "
                   "constant-initialised variables perturbed as export_hf.py (hf_common.perturb_constant_weights)",
        "perturbedVariables": {k: len(v) for k, v in perturbed.items()},
        "gelu": GELU_NOTE,
        "blipConfig": config.to_dict(),
        "converterCommand": " ".join(["tensorflowjs_converter", *hc.CONVERTER_ARGS, "<saved_model_dir>", "<out_dir>"]),
        "versions": hc.versions(),
        "seconds": round(time.time() - t0),
    })
    print(f"[blip small] wrote {out} in {time.time() - t0:.0f}s", flush=True)


# ----------------------------------------------------------------------------- full topologies

def export_full(only: set[str] | None) -> None:
    import gc

    import tensorflow as tf  # noqa: F401
    import transformers as T

    t0 = time.time()
    ids = {"bos": 30522, "pad": 0, "sep": 102, "enc": 30523}
    config = blip_config(30524, ids, FULL_VISION, FULL_TEXT, FULL_E)
    G, _ = graph_defs(768, 768)
    todo = [g for g in ("retrieval/text", "retrieval/itm", "caption/decoder", "vqa/question", "vqa/answer")
            if not only or g in only]
    classes = {"retrieval": T.TFBlipForImageTextRetrieval, "caption": T.TFBlipForConditionalGeneration,
               "vqa": T.TFBlipForQuestionAnswering}
    for task in ("retrieval", "caption", "vqa"):
        gs = [g for g in todo if G[g][0] == task]
        if not gs:
            continue
        import tf_keras
        use_erf_gelu()
        tf_keras.utils.set_random_seed(SEED)
        m = classes[task](config)
        s = config.vision_config.image_size
        px = tf.zeros((1, 3, s, s), tf.float32)
        ii = tf.constant([[30522, 5, 6]], tf.int32)
        if task == "retrieval":
            m(input_ids=ii, pixel_values=px, training=False)
        elif task == "caption":
            m(pixel_values=px, input_ids=ii, training=False)
        else:
            m(input_ids=ii, pixel_values=px, decoder_input_ids=ii, training=False)
        n = len(hc.perturb_constant_weights(m, SEED))
        for g in gs:
            t1 = time.time()
            _, specs, fn = G[g]
            info = export_graph(m, g, specs, fn, OUT_FULL / g, None, full=True)
            hc.write_json(OUT_FULL / g / "meta.json", {
                "graph": g, "hfClass": type(m).__name__,
                "size": "full (BLIP base topology; the weight shards were deleted after conversion)",
                "deletedShardBytes": info["deletedShardBytes"],
                "weights": f"random (seed {SEED}), {n} constant-initialised variables perturbed so no bias is all-zero",
                "gelu": GELU_NOTE,
                "vision": FULL_VISION, "text": FULL_TEXT, "imageTextHiddenSize": FULL_E,
                "inputs": [{"name": a, "dtype": d.name, "shape": [-1 if x is None else x for x in shp]}
                           for a, d, shp in specs],
                "signature": info["signature"], "outputTensors": info["outputTensors"],
                "converterCommand": info["converterCommand"], "versions": hc.versions(),
                "seconds": round(time.time() - t1),
            })
            print(f"[full {g}] {time.time() - t1:.0f}s, dropped {info['deletedShardBytes'] / 1e6:.0f} MB; peak RSS "
                  f"{hc.peak_rss_mb():.0f} MB, converter {hc.peak_rss_mb(children=True):.0f} MB", flush=True)
        del m
        gc.collect()
    print(f"[blip full] done in {time.time() - t0:.0f}s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="small", choices=["small", "full"])
    ap.add_argument("--graphs", default="", help="comma-separated subset (e.g. retrieval/itm,caption/decoder)")
    a = ap.parse_args()
    only = set(a.graphs.split(",")) if a.graphs else None
    if a.size == "small":
        export_small(only)
    else:
        export_full(only)


if __name__ == "__main__":
    main()
