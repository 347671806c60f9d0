"""--size full: BLIP-base sized text graphs (itm, text, caption decoder, vqa question/answer), model.json
only (converted in a temporary directory; no shard is written under spec/)."""
from __future__ import annotations

import time

import hf_common as hc

from .graphs import export_graph, graph_defs
from .models import blip_config, use_erf_gelu
from .settings import FULL_E, FULL_TEXT, FULL_VISION, GELU_NOTE, OUT_FULL, SEED


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
