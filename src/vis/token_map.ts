// The merged-token map (ToMe's vis.py in spirit): which image patches ended up in the same token
// after every merge, drawn over the image, one colour per group. It only consumes the merges'
// `assignment` outputs (the output index each input token went to), as vis.py only consumes the
// `source` matrix. Browser-safe: the demo page draws it on a canvas, scripts/token-map.ts writes a PNG.

/**
 * Follows every patch token through the blocks' assignments ([N_l] each, for one image) to the
 * token it is part of after the last block. Returns [patches]: the final token index of each patch
 * (protected tokens such as the class token are not patches and are left out).
 */
export function tokenGroups(assignments: ArrayLike<number>[], tokens: number, protectedTokens = 1): Int32Array {
  const group = new Int32Array(tokens - protectedTokens);
  for (let i = 0; i < group.length; i++) {
    let t = i + protectedTokens;
    for (const a of assignments) {
      if (t >= a.length) throw new Error(`tokenGroups: token ${t} outside an assignment of ${a.length} tokens`);
      t = a[t];
    }
    group[i] = t;
  }
  return group;
}

/**
 * RGB image [size·size·3] of a square crop and the patch groups on its grid → RGBA [size·size·4]:
 * each group filled with its mean colour, tinted by a colour of its own, with a dark line where
 * neighbouring patches belong to different groups. Unmerged patches keep their own pixels.
 */
export function renderTokenMap(rgb: ArrayLike<number>, size: number, groups: Int32Array, grid: number): Uint8ClampedArray {
  if (groups.length !== grid * grid) throw new Error(`renderTokenMap: ${groups.length} patches for a ${grid}x${grid} grid`);
  const patch = size / grid;
  const count = new Map<number, number>();
  for (const g of groups) count.set(g, (count.get(g) ?? 0) + 1);
  // Mean colour per group.
  const sums = new Map<number, [number, number, number, number]>();
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const g = groups[Math.floor(y / patch) * grid + Math.floor(x / patch)];
      const s = sums.get(g) ?? [0, 0, 0, 0];
      const at = (y * size + x) * 3;
      s[0] += rgb[at];
      s[1] += rgb[at + 1];
      s[2] += rgb[at + 2];
      s[3]++;
      sums.set(g, s);
    }
  }
  const out = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const py = Math.floor(y / patch);
      const px = Math.floor(x / patch);
      const g = groups[py * grid + px];
      const at = (y * size + x) * 3;
      const o = (y * size + x) * 4;
      let rgbOut: number[];
      if (count.get(g) === 1) {
        rgbOut = [rgb[at], rgb[at + 1], rgb[at + 2]];
      } else {
        const s = sums.get(g)!;
        const tint = hue(g);
        rgbOut = [0, 1, 2].map((c) => 0.6 * (s[c] / s[3]) + 0.4 * tint[c]);
      }
      // A border where the patch to the right or below is in another group.
      const edgeX = (x + 1) % patch === 0 && px + 1 < grid && groups[py * grid + px + 1] !== g;
      const edgeY = (y + 1) % patch === 0 && py + 1 < grid && groups[(py + 1) * grid + px] !== g;
      if (edgeX || edgeY) rgbOut = [20, 20, 20];
      out[o] = rgbOut[0];
      out[o + 1] = rgbOut[1];
      out[o + 2] = rgbOut[2];
      out[o + 3] = 255;
    }
  }
  return out;
}

/** A bright colour per group id, spread around the hue circle by the golden angle. */
function hue(id: number): [number, number, number] {
  const h = (id * 137.508) % 360;
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return 255 * (0.55 - 0.45 * Math.max(-1, Math.min(k - 3, 9 - k, 1)));
  };
  return [f(0), f(8), f(4)];
}

/** The Turbo model's merge node names in block order, from its model.json metadata. */
export function mergeNodeNames(modelJson: { userDefinedMetadata?: { turbo?: unknown } }): string[] {
  const turbo = modelJson.userDefinedMetadata?.turbo as { blocks?: { merge: string }[] } | undefined;
  if (!turbo?.blocks) throw new Error('not a Turbo model: model.json has no userDefinedMetadata.turbo.blocks');
  return turbo.blocks.map((b) => b.merge);
}
