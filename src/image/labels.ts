// labels.csv beside an image folder (columns file,label; others ignored), for evaluation and for
// the auto-tuner's optional accuracy column.

import * as fs from 'fs';
import * as path from 'path';
import { TurboInputError } from '../errors';
import { shardPathProblem } from '../graph/safe_read';

export interface Labelled {
  file: string;
  label: number;
  /** 1-based line in labels.csv. */
  line: number;
}

/**
 * RFC 4180 CSV: comma-separated, fields optionally in double quotes (with "" for a quote, and
 * commas or line breaks inside), LF or CRLF line ends, an optional UTF-8 BOM. Returns the records
 * with the 1-based line each starts on. Throws a plain Error on an unterminated quote.
 */
export function parseCsv(text: string): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let start = 1;
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    fields.push(field);
    records.push({ fields, line: start });
    fields = [];
    field = '';
  };
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else {
      field += ch;
    }
  }
  if (quoted) throw new Error(`line ${start}: unterminated quoted field`);
  if (field !== '' || fields.length > 0) endRecord();
  // Blank lines are not records.
  return records.filter((r) => !(r.fields.length === 1 && r.fields[0].trim() === ''));
}

/** Reads `labels.csv` (columns file,label; others ignored) from an image folder, checking every row. */
export function readLabels(dir: string): Labelled[] {
  if (!fs.existsSync(dir)) throw new TurboInputError(dir, 'image folder not found');
  if (!fs.statSync(dir).isDirectory()) throw new TurboInputError(dir, 'not a directory (expected an image folder with labels.csv)');
  const csv = path.join(dir, 'labels.csv');
  if (!fs.existsSync(csv)) throw new TurboInputError(csv, 'not found (the image folder needs a labels.csv with columns file,label)');
  let records: { fields: string[]; line: number }[];
  try {
    records = parseCsv(fs.readFileSync(csv, 'utf8'));
  } catch (e) {
    throw new TurboInputError(csv, (e as Error).message);
  }
  if (records.length === 0) throw new TurboInputError(csv, "empty (expected a header line 'file,label' and one line per image)");
  const header = records[0].fields.map((h) => h.trim());
  const fi = header.indexOf('file');
  const li = header.indexOf('label');
  if (fi < 0 || li < 0) throw new TurboInputError(csv, `header must name 'file' and 'label' columns (found: ${header.join(',')})`);
  const seen = new Map<string, number>();
  const rows = records.slice(1).map(({ fields, line }) => {
    if (fields.length <= Math.max(fi, li)) throw new TurboInputError(csv, `line ${line}: ${fields.length} column(s), expected at least ${Math.max(fi, li) + 1}`);
    const file = fields[fi].trim();
    const text = fields[li].trim();
    if (!file) throw new TurboInputError(csv, `line ${line}: empty file name`);
    const unsafe = shardPathProblem(file);
    if (unsafe) throw new TurboInputError(csv, `line ${line}: file ${JSON.stringify(file)} ${unsafe.replace('shard paths must be relative to model.json', 'image names must be relative to the folder').replace('shard paths must stay inside the model directory', 'images must be inside the folder')}`);
    if (!/^\d+$/.test(text)) throw new TurboInputError(csv, `line ${line}: label '${text}' is not a class index (a non-negative integer)`);
    const first = seen.get(file);
    if (first !== undefined) throw new TurboInputError(csv, `line ${line}: '${file}' is listed twice (first on line ${first})`);
    seen.set(file, line);
    return { file, label: Number(text), line };
  });
  if (rows.length === 0) throw new TurboInputError(csv, 'lists no images (only a header)');
  return rows;
}
