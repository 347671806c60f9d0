// The fuzz surfaces after the graph one, by the name `npm run fuzz -- --surface NAME` takes.

import type { Surface } from '../surface_run';
import { blipSurface } from './blip';
import { calibrationSurface } from './calibration';
import { opLibrarySurface } from './oplib';
import { savedModelSurface } from './savedmodel';

export const SURFACES: Record<string, Surface> = {
  blip: blipSurface,
  calibration: calibrationSurface,
  savedmodel: savedModelSurface,
  oplib: opLibrarySurface,
};
