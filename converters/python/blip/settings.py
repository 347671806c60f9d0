"""Seeds, output paths, model sizes, the fixed texts and images, and the settings of every reference."""
from __future__ import annotations

import hf_common as hc

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
MIN_LENGTH = 7  # > the 5 tokens caption_greedy_noprompt ends with for image 0, so the end token is masked at some steps
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
