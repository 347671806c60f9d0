import { Architecture } from './types';
import { blip } from './blip';
import { clip } from './clip';
import { deit } from './deit';
import { vit } from './vit';

/** Tried in order; the first family that matches wins, so more specific families come first. */
export const ARCHITECTURES: readonly Architecture[] = [deit, clip, blip, vit];

export function architectureByName(name: string): Architecture | undefined {
  return ARCHITECTURES.find((a) => a.name === name);
}

export type { Architecture, ArchitectureMatch } from './types';
