"""converters/python/export_blip.py's modules: HF TensorFlow BLIP task models (retrieval,
captioning, VQA) through the real tensorflowjs_converter, with their references.

settings      seeds, sizes, texts, settings of every reference
inputs        the WordPiece tokenizer and the two preprocessed photos
models        BlipConfig and the three seeded HF task models
graphs        the eight graphs (HF code paths cut at the graph boundary), SavedModel -> converter
generate      generate() references (greedy, beam search with the TF beam-search patch)
fixture_refs  text-drop-reference.json and vision-turbo-reference.json (spec/reference/ computes them)
conventions   config.json (ids, image preprocessing, the HF conventions of every task)
small, full   the two export sizes
"""
import sys
from pathlib import Path

# the independent references (turbo_ref, blip_text_drop, blip_vision_turbo) live in spec/reference/
_REFERENCE = str(Path(__file__).resolve().parents[3] / "spec" / "reference")
if _REFERENCE not in sys.path:
    sys.path.insert(0, _REFERENCE)
