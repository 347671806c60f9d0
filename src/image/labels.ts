// labels.csv beside an image folder (columns file,label; others ignored), for evaluation and for
// the auto-tuner's optional accuracy column.

import * as fs from 'fs';
import * as path from 'path';
import { TurboInputError } from '../errors';
import { readWholeFileInside, realDirOf, shardPathProblem } from '../graph/safe_read';

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

/**
 * Reads `labels.csv` (columns file,label; others ignored) from an image folder, checking every row.
 * The file is as untrusted as a model: a bounded read of a regular file inside the folder, and no
 * message quotes its text (it may be a copy of a secret), only line numbers and what is wrong.
 */
export async function readLabels(dir: string): Promise<Labelled[]> {
  const csv = path.join(dir, 'labels.csv');
  const records = csvRecords(await readLabelsText(dir), csv);
  if (records.length === 0) throw new TurboInputError(csv, "empty (expected a header line 'file,label' and one line per image)");
  const header = records[0].fields.map((h) => h.trim());
  const columns = { file: header.indexOf('file'), label: header.indexOf('label') };
  if (columns.file < 0 || columns.label < 0) throw new TurboInputError(csv, "line 1: the header must name a 'file' and a 'label' column");
  const seen = new Map<string, number>();
  const rows = records.slice(1).map((record) => {
    const row = labelledRow(record, columns);
    if (typeof row === 'string') throw new TurboInputError(csv, `line ${record.line}: ${row}`);
    const first = seen.get(row.file);
    if (first !== undefined) throw new TurboInputError(csv, `line ${record.line}: the file is listed twice (first on line ${first})`);
    seen.set(row.file, row.line);
    return row;
  });
  if (rows.length === 0) throw new TurboInputError(csv, 'lists no images (only a header)');
  return rows;
}

async function readLabelsText(dir: string): Promise<string> {
  if (!fs.existsSync(dir)) throw new TurboInputError(dir, 'image folder not found');
  if (!fs.statSync(dir).isDirectory()) throw new TurboInputError(dir, 'not a directory (expected an image folder with labels.csv)');
  const missing = 'not found (the image folder needs a labels.csv with columns file,label)';
  return (await readWholeFileInside(dir, await realDirOf(dir), 'labels.csv', 'labelsCsv', missing)).toString('utf8');
}

function csvRecords(text: string, csv: string): { fields: string[]; line: number }[] {
  try {
    return parseCsv(text);
  } catch (e) {
    throw new TurboInputError(csv, (e as Error).message);
  }
}

/** One data row, or what is wrong with it (without quoting it). */
function labelledRow({ fields, line }: { fields: string[]; line: number }, columns: { file: number; label: number }): Labelled | string {
  const need = Math.max(columns.file, columns.label) + 1;
  if (fields.length < need) return `${fields.length} column(s), expected at least ${need}`;
  const file = fields[columns.file].trim();
  const label = fields[columns.label].trim();
  if (!file) return 'empty file name';
  const unsafe = imageNameProblem(file);
  if (unsafe) return `the file name ${unsafe}`;
  if (!/^\d+$/.test(label)) return 'the label is not a class index (a non-negative integer)';
  return { file, label: Number(label), line };
}

/** shardPathProblem's checks, worded for an image folder. */
function imageNameProblem(file: string): string | undefined {
  return shardPathProblem(file)
    ?.replace('shard paths must be relative to model.json', 'image names must be relative to the folder')
    .replace('shard paths must stay inside the model directory', 'images must be inside the folder');
}
