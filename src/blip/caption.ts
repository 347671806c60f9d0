// Captioning (TFBlipForConditionalGeneration.generate): the decoder starts from [DEC] (or
// [DEC] + a prompt, the prompt's [CLS] replaced by [DEC] and its [SEP] dropped, as transformers
// does), cross-attends to the image tokens, and stops at [SEP]. Several images decode as one
// batch, as generate() does with a batch (beam search's stopping test spans the batch).
import { GenerateOptions } from './generate';
import { BlipModel } from './model';
import { checkDecodeOptions, decodeTexts, decoderStep } from './decoder_step';
import { encodeImages, ImageInput } from './vision';

export interface CaptionOptions {
  /** Total tokens including [DEC] and the prompt (transformers' max_length; default 20). */
  maxLength?: number;
  minLength?: number;
  /** 1: greedy (default); more: beam search. */
  beams?: number;
  /** Text the caption continues, e.g. "a picture of". */
  prompt?: string;
  onStep?: GenerateOptions['onStep'];
}

export interface Caption {
  text: string;
  ids: number[];
}

export interface Captions {
  captions: Caption[];
  /** Seconds in the vision encoder and in the decoding loop, for the whole batch. */
  visionSeconds: number;
  textSeconds: number;
}

export function captionPrompt(model: BlipModel, prompt?: string): number[] {
  if (!prompt) return [model.config.bosId];
  const ids = model.tokenizer.encode(prompt);
  return [model.config.bosId, ...ids.slice(1, -1)];
}

export async function captionBatch(model: BlipModel, images: readonly ImageInput[], options: CaptionOptions = {}): Promise<Captions> {
  const prompt = captionPrompt(model, options.prompt);
  checkDecodeOptions(model, prompt.length, options);
  const t0 = performance.now();
  const [imageEmbeds] = await encodeImages(model, images);
  try {
    // Read back once so the vision time is the encoder's, not queued work finishing later.
    await imageEmbeds.data();
    const t1 = performance.now();
    const step = decoderStep(model.graphs.decoder, images.length, (tokens, ids, mask) => ({
      input_ids: ids,
      attention_mask: mask,
      image_embeds: tokens(imageEmbeds),
    }));
    const captions = await decodeTexts(model, images.map(() => prompt), step, options);
    const t2 = performance.now();
    return {
      captions,
      visionSeconds: (t1 - t0) / 1e3,
      textSeconds: (t2 - t1) / 1e3,
    };
  } finally {
    imageEmbeds.dispose();
  }
}

export async function caption(model: BlipModel, image: ImageInput, options: CaptionOptions = {}): Promise<Caption & Omit<Captions, 'captions'>> {
  const { captions, ...times } = await captionBatch(model, [image], options);
  return { ...captions[0], ...times };
}
