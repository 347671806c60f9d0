"""BlipConfig from the size dicts and the three seeded HF task models."""
from __future__ import annotations

import hf_common as hc

from .settings import EOS_BIAS, TEXT_INIT


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
