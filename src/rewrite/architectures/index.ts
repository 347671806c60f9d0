// The families the rewrite knows. Order does not matter: detect.ts asks each one and resolves
// overlaps by what each family declares it specialises.

import { Architecture } from './types';
import { blip } from './blip';
import { clip } from './clip';
import { deit } from './deit';
import { vit } from './vit';

export const ARCHITECTURES: readonly Architecture[] = [vit, deit, clip, blip];


export type { Architecture, ArchitectureHooks, Detection, Pooling, TokenInfo } from './types';
