"""config.json of the small fixture: sizes, special-token ids, image preprocessing, every graph's inputs
and outputs, and the HF conventions of each task (what src/blip/ has to reproduce)."""
from __future__ import annotations

import hf_common as hc

from .settings import MEAN, STD


def write_config(run) -> None:
    """run is export_small's state (blip/small.py)."""
    out, config, ids, V, S, N0, graphs = run.out, run.config, run.ids, run.V, run.S, run.N0, run.graphs
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
