// BLIP's text side is BERT WordPiece (BlipProcessor uses BertTokenizerFast). Tokenization goes
// through @huggingface/tokenizers on the model's own tokenizer.json, never a hand-rolled WordPiece,
// so ids match transformers' for the same file.
import { Tokenizer } from '@huggingface/tokenizers';
import { TurboInputError } from '../errors';

export interface TextBatch {
  /** [B, T] ids, padded with the pad id to the longest text. */
  ids: number[][];
  /** [B, T] 1 for real tokens, 0 for padding. */
  mask: number[][];
}

export class BlipTokenizer {
  constructor(
    private readonly tokenizer: Tokenizer,
    /** Where it was read from, for errors. */
    readonly source: string,
    /** Longest sequence (special tokens included) the text model has positions for. */
    readonly maxLength: number,
    readonly padId: number,
  ) {}

  /** Parses a tokenizer.json document; `source` names the file in errors. */
  static fromJson(json: unknown, source: string, maxLength: number, padId: number): BlipTokenizer {
    if (!json || typeof json !== 'object' || !('model' in json)) {
      throw new TurboInputError(source, 'not a tokenizer.json (no "model" entry)');
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json, {});
    } catch (e) {
      throw new TurboInputError(source, `cannot build the tokenizer (${(e as Error).message})`);
    }
    return new BlipTokenizer(tokenizer, source, maxLength, padId);
  }

  /** "[CLS] text [SEP]" ids; refuses a text longer than the model's positions rather than cutting it. */
  encode(text: string): number[] {
    const { ids } = this.tokenizer.encode(text);
    if (ids.length > this.maxLength) {
      const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
      throw new TurboInputError(this.source, `text "${shown}" is ${ids.length} tokens, the model allows at most ${this.maxLength}`);
    }
    return ids;
  }

  /** Several texts, right-padded to one length. */
  encodeBatch(texts: readonly string[]): TextBatch {
    const rows = texts.map((t) => this.encode(t));
    const length = Math.max(...rows.map((r) => r.length));
    return {
      ids: rows.map((r) => [...r, ...new Array<number>(length - r.length).fill(this.padId)]),
      mask: rows.map((r) => [...r.map(() => 1), ...new Array<number>(length - r.length).fill(0)]),
    };
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }

}
