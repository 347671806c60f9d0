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
The code is in converters/python/blip/ (one module per concern, listed in its __init__); the
text-drop and vision Turbo references it runs are in spec/reference/.
See docs/PYTHON-EXPORT.md ("BLIP task models").
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_common  # noqa: E402, F401  (sets TF_USE_LEGACY_KERAS before TF is imported)
from blip.full import export_full  # noqa: E402
from blip.small import export_small  # noqa: E402


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
