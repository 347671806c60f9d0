"""The locally built BERT-uncased-style WordPiece tokenizer and the two preprocessed photos."""
from __future__ import annotations

import shutil
import string
from pathlib import Path

import hf_common as hc
import numpy as np

from .settings import IMAGES, MEAN, SMALL_TEXT, STD


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
