// The WGSL programs of the fused TurboMerge (TurboMerge.ts runs them in this order). Every step is a
// gather: each invocation writes only its own output element, so results do not depend on thread
// scheduling (no atomics, no float reductions across invocations). Index conventions are those of
// merge_plan.ts: source a is token src0 + 2a, destination j is token dst0 + 2j.
import { TurboWebGPUProgram } from './program';

/** metric [B, N, d] → invNorms [B, N]: 1 / max(‖row‖, 1e-12), summed over k in order. */
export class InvNormsProgram extends TurboWebGPUProgram {
  variableNames = ['metric'];
  shaderKey = 'turboInvNorms';
  body(): string {
    return `
      var s = 0.0;
      for (var k = 0; k < uniforms.d; k++) {
        let v = metric[t * uniforms.d + k];
        s = s + v * v;
      }
      result[t] = 1.0 / max(sqrt(s), 1e-12);`;
  }
}

/**
 * metric, invNorms → cosines [B, ns, nd] of every source/destination pair, each from the unit rows
 * (metric·invNorm, rounded to float32 as merge.ts's unitRows are to float64) summed over k in order.
 * One invocation per pair.
 */
export class CosinesProgram extends TurboWebGPUProgram {
  variableNames = ['metric', 'invNorms'];
  shaderKey = 'turboCosines';
  body(): string {
    return `
      let b = t / (uniforms.ns * uniforms.nd);
      let i = b * uniforms.n + uniforms.src0 + 2 * ((t / uniforms.nd) % uniforms.ns);
      let j = b * uniforms.n + uniforms.dst0 + 2 * (t % uniforms.nd);
      let invI = invNorms[i];
      let invJ = invNorms[j];
      var s = 0.0;
      for (var k = 0; k < uniforms.d; k++) {
        let u = metric[i * uniforms.d + k] * invI;
        let v = metric[j * uniforms.d + k] * invJ;
        s = s + u * v;
      }
      result[t] = s;`;
  }
}

/**
 * cosines, clsAttn → scores [B, ns, 2]: per source a, E = max_j cos − c·clsAttn and the best
 * destination j (lowest j on ties: only a strictly larger cosine replaces it) as a float (exact
 * below 2^24). A NaN cosine never becomes the best, as with `cos > best` from -inf in merge.ts.
 */
export class MatchProgram extends TurboWebGPUProgram {
  variableNames = ['cosines', 'clsAttn'];
  shaderKey = 'turboMatch';
  body(): string {
    return `
      let b = t / uniforms.ns;
      let i = uniforms.src0 + 2 * (t % uniforms.ns);
      var bestCos = 0.0;
      var best = 0;
      var found = false;
      for (var j = 0; j < uniforms.nd; j++) {
        let s = cosines[t * uniforms.nd + j];
        if (!isnan(s) && (!found || s > bestCos)) {
          bestCos = s;
          best = j;
          found = true;
        }
      }
      var e = bestCos - uniforms.c * clsAttn[b * uniforms.n + i];
      if (!found) { e = uniforms.NAN; }
      result[2 * t] = e;
      result[2 * t + 1] = f32(best);`;
  }
}

/**
 * scores [B, ns, 2] → ranks [B, ns] (int32): how many sources rank before source a (larger E, or
 * equal E and a lower index). A rank-by-counting sort: O(ns²) per image but fully parallel, exact
 * and deterministic; merged ⇔ rank < r.
 */
export class RankProgram extends TurboWebGPUProgram {
  variableNames = ['scores'];
  shaderKey = 'turboRank';
  body(): string {
    return `
      let b = t / uniforms.ns;
      let a = t % uniforms.ns;
      let row = b * uniforms.ns;
      let ka = rankKey(scores[2 * t]);
      var before = 0;
      for (var o = 0; o < uniforms.ns; o++) {
        let ko = rankKey(scores[2 * (row + o)]);
        if (ko > ka || (ko == ka && o < a)) { before++; }
      }
      result[t] = before;`;
  }
}

/**
 * scores, ranks → assignment [B, N] (int32): protected tokens stay, unmerged sources follow (in index
 * order when p > 0, in rank order when p = 0), then the destinations; a merged source takes its
 * destination's position.
 */
export class AssignProgram extends TurboWebGPUProgram {
  variableNames = ['scores', 'ranks'];
  shaderKey = 'turboAssign';
  body(): string {
    return `
      let b = t / uniforms.n;
      let i = t % uniforms.n;
      let row = b * uniforms.ns;
      var dest = i;
      if (i >= uniforms.p) {
        if (i % 2 == 0) {
          let a = (i - uniforms.src0) / 2;
          let rk = ranks[row + a];
          if (rk < uniforms.r) {
            dest = uniforms.dstBase + i32(scores[2 * (row + a) + 1]);
          } else if (uniforms.p > 0) {
            var k = 0;
            for (var o = 0; o < a; o++) { if (ranks[row + o] >= uniforms.r) { k++; } }
            dest = uniforms.p + k;
          } else {
            dest = uniforms.p + rk - uniforms.r;
          }
        } else {
          dest = uniforms.dstBase + (i - uniforms.dst0) / 2;
        }
      }
      result[t] = dest;`;
  }
}

/** ranks → bases [B, N'] (int32): the one input token at each output position that is not a merged source. */
export class BaseProgram extends TurboWebGPUProgram {
  variableNames = ['ranks'];
  shaderKey = 'turboBase';
  body(): string {
    return `
      let b = t / uniforms.nOut;
      let o = t % uniforms.nOut;
      let row = b * uniforms.ns;
      var base = o;
      if (o >= uniforms.dstBase) {
        base = uniforms.dst0 + 2 * (o - uniforms.dstBase);
      } else if (o >= uniforms.p) {
        let k = o - uniforms.p;
        var seen = 0;
        for (var a = 0; a < uniforms.ns; a++) {
          let rk = ranks[row + a];
          let hit = select(rk == uniforms.r + k, rk >= uniforms.r && seen == k, uniforms.p > 0);
          if (hit) { base = uniforms.src0 + 2 * a; break; }
          if (rk >= uniforms.r) { seen++; }
        }
      }
      result[t] = base;`;
  }
}

/**
 * scores, ranks → links [B, ns + nd] (int32): the merged sources of each destination as a chain in
 * source order. Slot a < ns: the next merged source after a with a's destination (-1: none);
 * slot ns + j: the first merged source of destination j (-1: none). Lets the merge gather only a
 * destination's members instead of scanning every source per output element.
 */
export class LinksProgram extends TurboWebGPUProgram {
  variableNames = ['scores', 'ranks'];
  shaderKey = 'turboLinks';
  body(): string {
    return `
      let slots = uniforms.ns + uniforms.nd;
      let b = t / slots;
      let slot = t % slots;
      let row = b * uniforms.ns;
      var next = -1;
      var j = slot - uniforms.ns;
      var start = 0;
      if (slot < uniforms.ns) {
        j = -1;
        if (ranks[row + slot] < uniforms.r) { j = i32(scores[2 * (row + slot) + 1]); }
        start = slot + 1;
      }
      if (j >= 0) {
        for (var a = start; a < uniforms.ns; a++) {
          if (ranks[row + a] < uniforms.r && i32(scores[2 * (row + a) + 1]) == j) {
            next = a;
            break;
          }
        }
      }
      result[t] = next;`;
  }
}

/**
 * x [B, N, C] (not with `sizes`), [weights: the input sizes], bases, links → the merged x [B, N', C]
 * (or the new sizes [B, N']). A destination walks its chain of merged sources, summing x·s and s
 * in input-token order as merge.ts does; a token nothing merged into is copied bit-exact.
 */
export class GatherMergeProgram extends TurboWebGPUProgram {
  variableNames: string[];
  shaderKey: string;
  constructor(
    outputShape: number[],
    private readonly sizes: boolean,
    private readonly hasSize: boolean,
  ) {
    super(outputShape);
    // Every binding must be read: the pipeline's 'auto' layout drops unused ones and the bind group would not match.
    this.variableNames = [...(sizes ? [] : ['x']), ...(hasSize ? ['weights'] : []), 'bases', 'links'];
    this.shaderKey = `turboGatherMerge_${sizes ? 'sizes' : 'x'}_${hasSize ? 'sized' : 'unit'}`;
  }
  body(): string {
    // For the new sizes the "row" is the size itself: one channel.
    const channels = this.sizes ? '1' : 'uniforms.channels';
    const value = this.sizes ? 'w(b * uniforms.n + i)' : 'x[(b * uniforms.n + i) * C + k]';
    return `
      let C = ${channels};
      let b = t / (uniforms.nOut * C);
      let o = (t / C) % uniforms.nOut;
      let k = t % C;
      let own = bases[b * uniforms.nOut + o];
      var members = 0;
      var acc = 0.0;
      var total = 0.0;
      var ownAdded = false;
      if (o >= uniforms.dstBase) {
        let slots = uniforms.ns + uniforms.nd;
        var a = links[b * slots + uniforms.ns + o - uniforms.dstBase];
        for (var hop = 0; hop < uniforms.ns && a >= 0; hop++) {
          let src = uniforms.src0 + 2 * a;
          if (!ownAdded && own < src) {
            add(b, own, k, C, &acc, &total);
            ownAdded = true;
          }
          add(b, src, k, C, &acc, &total);
          members++;
          a = links[b * slots + a];
        }
      }
      if (members == 0) {
        let i = own;
        result[t] = ${value};
      } else {
        if (!ownAdded) { add(b, own, k, C, &acc, &total); }
        result[t] = ${this.sizes ? 'total' : 'acc / total'};
      }`;
  }
  override helpers(): string {
    const weight = this.hasSize ? 'weights[flat]' : '1.0';
    return `
      fn w(flat : i32) -> f32 { return ${weight}; }
      fn add(b : i32, i : i32, k : i32, C : i32, acc : ptr<function, f32>, total : ptr<function, f32>) {
        let s = w(b * uniforms.n + i);
        *acc = *acc + ${this.sizes ? 's' : 'x[(b * uniforms.n + i) * C + k]'} * s;
        *total = *total + s;
      }`;
  }
}
