// Visual question answering (TFBlipForQuestionAnswering.generate): the question is encoded with
// cross-attention to the image tokens, then the answer decoder starts from [DEC] and
// cross-attends to the encoded question, with an all-ones mask over it (as generate() passes).
import * as tf from '@tensorflow/tfjs-core';
import { TurboInputError } from '../errors';
import { GenerateOptions } from './generate';
import { BlipModel, idsTensor, runGraph } from './model';
import { checkDecodeOptions, decodeTexts, decoderStep } from './decoder_step';
import { encodeImages, ImageInput } from './vision';

export interface AnswerOptions {
  /** Total answer tokens including [DEC] (default 20). */
  maxLength?: number;
  minLength?: number;
  beams?: number;
  onStep?: GenerateOptions['onStep'];
}

export interface Answer {
  text: string;
  ids: number[];
}

export interface Answers {
  answers: Answer[];
  visionSeconds: number;
  textSeconds: number;
}

/** One question per image, decoded as one batch. */
export async function answerBatch(model: BlipModel, images: readonly ImageInput[], questions: readonly string[], options: AnswerOptions = {}): Promise<Answers> {
  if (questions.length !== images.length) throw new TurboInputError(model.dir, `${images.length} images but ${questions.length} questions`);
  const batch = model.tokenizer.encodeBatch(questions);
  checkDecodeOptions(model, 1, options);
  const t0 = performance.now();
  const [imageEmbeds] = await encodeImages(model, images);
  const qIds = idsTensor(batch.ids);
  const qMask = idsTensor(batch.mask);
  let questionEmbeds: tf.Tensor | undefined;
  try {
    // Read back once so the vision time is the encoder's, not queued work finishing later.
    await imageEmbeds.data();
    const t1 = performance.now();
    [questionEmbeds] = await runGraph(model.graphs.question, { input_ids: qIds, attention_mask: qMask, image_embeds: imageEmbeds }, ['question_embeds']);
    const encoded = questionEmbeds;
    const ones = tf.onesLike(qIds);
    const step = decoderStep(model.graphs.answer, images.length, (rowsOf, ids, mask) => ({
      input_ids: ids,
      attention_mask: mask,
      question_embeds: rowsOf(encoded),
      question_attention_mask: rowsOf(ones),
    }));
    try {
      const answers = await decodeTexts(model, images.map(() => [model.config.bosId]), step, options);
      const t2 = performance.now();
      return {
        answers,
        visionSeconds: (t1 - t0) / 1e3,
        textSeconds: (t2 - t1) / 1e3,
      };
    } finally {
      ones.dispose();
    }
  } finally {
    tf.dispose([imageEmbeds, qIds, qMask]);
    questionEmbeds?.dispose();
  }
}

export async function answer(model: BlipModel, image: ImageInput, question: string, options: AnswerOptions = {}): Promise<Answer & Omit<Answers, 'answers'>> {
  const { answers, ...times } = await answerBatch(model, [image], [question], options);
  return { ...answers[0], ...times };
}
