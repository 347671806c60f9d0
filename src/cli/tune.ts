// convert-with-turbo --target-speedup / --target-flops: tune on a calibration folder, then convert
// with the chosen schedule, writing the search log beside the model (turbo-tune.json).

import * as fs from 'fs';
import * as path from 'path';
import { Presets, SingleBar } from 'cli-progress';
import { ConvertOptions, checkInputDir, checkOutputTarget, convertWithTurbo } from '../convert';
import { OptionsError, TurboInputError } from '../errors';
import { readPreprocessing } from '../image/preprocess';
import { BackendName, useBackend } from '../runtime/backend';
import { readCalibrationSet } from '../tune/calibration';
import { variantNamed } from '../tune/space';
import { TuneResult, tuneTurbo } from '../tune/tune';
import { progressBar } from './progress';

export interface TuneCliOptions {
  targetSpeedup?: number;
  targetFlops?: number;
  calibrate?: string;
  maxEvals?: number;
  timeLimit?: number;
  seed?: number;
  backend?: BackendName;
  calibrationLimit?: number;
  architecture?: string;
  beta?: number;
  gamma?: number;
  rThreshold?: number;
  propAttn?: boolean;
  portable?: boolean;
  force?: boolean;
  dryRun?: boolean;
}

const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(1)} %`);

export async function tuneAndConvert(inDir: string, outDir: string, o: TuneCliOptions, log: (s: string) => void = console.log): Promise<TuneResult> {
  if (!o.calibrate) throw new OptionsError('calibrate', 'a target needs a folder of calibration images (--calibrate DIR)');
  await checkInputDir(inDir);
  if (!o.dryRun) await checkOutputTarget(inDir, outDir, !!o.force);
  const prepFile = path.join(inDir, 'preprocessing.json');
  if (!fs.lstatSync(prepFile, { throwIfNoEntry: false })) {
    throw new TurboInputError(prepFile, 'not found: the tuner preprocesses the calibration images as this file describes');
  }
  const prep = await readPreprocessing(inDir);
  await useBackend();
  const reading = progressBar('calibration images', 'images', 1);
  const images = await readCalibrationSet(o.calibrate, prep, o.calibrationLimit, reading.update).finally(reading.stop);
  const tuning = new SingleBar({ stream: process.stderr, hideCursor: true, format: 'tuning [{bar}] {value}/{total} candidates, {stage} {best}' }, Presets.shades_classic);
  tuning.start(1, 0, { best: '', stage: '' });
  let result: TuneResult;
  try {
    result = await tuneTurbo(inDir, images, {
      targetFlops: o.targetFlops,
      targetSpeedup: o.targetSpeedup,
      maxEvals: o.maxEvals,
      timeLimitSeconds: o.timeLimit,
      seed: o.seed,
      backend: o.backend,
      architecture: o.architecture,
      fixed: { beta: o.beta, gamma: o.gamma, rThreshold: o.rThreshold, propAttn: o.propAttn, portable: o.portable },
      onProgress: ({ done, total, stage, best }) => {
        tuning.setTotal(total);
        tuning.update(done, { stage, best: best ? `(best: ${best.shape}, alpha ${best.alpha}${best.variant === 'turbo' ? '' : `, ${best.variant}`}, agreement ${pct(best.screen.top1)})` : '' });
      },
    });
  } finally {
    tuning.stop();
    images.inputs.dispose();
  }
  const c = result.chosen;
  const t = result.timing;
  log(
    `tuned on ${result.searchImages.length} images, confirmed on ${result.confirmImages.length} (${result.log.length} candidates scored on ${result.scoreBackend}, ${result.seconds.toFixed(0)} s: ` +
      `unmerged ${t.reference.toFixed(0)} s, search ${t.search.toFixed(0)} s${result.speedBackend ? `, timing on ${result.speedBackend} ${t.speed.toFixed(0)} s` : ''})${result.stopped ? `; stopped early: ${result.stopped}` : ''}`,
  );
  log(`chosen: ${c.shape}, r per block ${c.schedule.join(',')}, alpha ${c.alpha}${c.variant === 'turbo' ? '' : `, ${c.variant}`}, FLOP ratio ${c.flops.toFixed(2)}${c.speedup ? `, measured ${c.speedup.toFixed(2)}x` : ''}`);
  log(`agreement with the unmerged model: search ${pct(c.search.top1)} (KL ${c.search.kl.toFixed(4)}), confirm ${pct(result.confirm.top1)} (KL ${result.confirm.kl.toFixed(4)})`);
  if (result.confirm.accuracy !== undefined) {
    log(`top-1 on the confirmation half: ${pct(result.confirm.accuracy)} (unmerged ${pct(result.baseline.confirm)})`);
  }
  if (o.dryRun) return result;
  const options: ConvertOptions = {
    ...variantNamed(c.variant).options,
    r: c.schedule,
    alpha: c.alpha,
    beta: o.beta,
    gamma: o.gamma,
    rThreshold: o.rThreshold,
    propAttn: o.propAttn,
    portable: o.portable,
    architecture: o.architecture,
    force: o.force,
    sideFiles: { 'turbo-tune.json': `${JSON.stringify(result, null, 1)}\n` },
    metadata: {
      tuning: {
        target: o.targetSpeedup ? { speedup: o.targetSpeedup, backend: o.backend ?? 'default' } : { flops: o.targetFlops },
        calibrationImages: result.searchImages.length + result.confirmImages.length,
        shape: c.shape,
        variant: c.variant,
        measuredSpeedup: c.speedup,
        searchAgreement: c.search.top1,
        confirmAgreement: result.confirm.top1,
        confirmAccuracy: result.confirm.accuracy,
      },
    },
  };
  const converted = await convertWithTurbo(inDir, outDir, options);
  log(`wrote ${converted.outDir} (and ${path.join(outDir, 'turbo-tune.json')})`);
  return result;
}
