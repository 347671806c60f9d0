// The GLSL programs of the fused TurboMerge (TurboMerge.ts runs them in this order), the same steps
// as the WGSL ones in ../webgpu/merge_programs.ts. Every step is a gather (one fragment, one output
// element), so results do not depend on scheduling. Source a is token src0 + 2a, destination j is
// token dst0 + 2j (merge_plan.ts). Int32 tensors live in float textures: values are exact integers
// below 2^24, read back with int().
import { TurboWebGLProgram, glslName } from './program';

const [D, P, R, NS, ND, SRC0, DST0, DSTBASE, C] = ['d', 'p', 'r', 'ns', 'nd', 'src0', 'dst0', 'dstBase', 'c'].map(glslName);

/** metric [B, N, d] → invNorms [B, N]: 1 / max(‖row‖, 1e-12), summed over k in order. */
export class InvNormsProgram extends TurboWebGLProgram {
  variableNames = ['metric'];
  protected main(): string {
    return `
      void main() {
        ivec2 at = getOutputCoords();
        float s = 0.0;
        for (int k = 0; k < ${D}; k++) {
          float v = getMetric(at.x, at.y, k);
          s += v * v;
        }
        setOutput(1.0 / max(sqrt(s), 1e-12));
      }`;
  }
}

/** metric, invNorms → cosines [B, ns, nd] of every source/destination pair, from the float32 unit rows, summed over k in order. */
export class CosinesProgram extends TurboWebGLProgram {
  variableNames = ['metric', 'invNorms'];
  protected main(): string {
    return `
      void main() {
        ivec3 at = getOutputCoords();
        int b = at.x;
        int i = ${SRC0} + 2 * at.y;
        int j = ${DST0} + 2 * at.z;
        float invI = getInvNorms(b, i);
        float invJ = getInvNorms(b, j);
        float s = 0.0;
        for (int k = 0; k < ${D}; k++) s += (getMetric(b, i, k) * invI) * (getMetric(b, j, k) * invJ);
        setOutput(s);
      }`;
  }
}

/**
 * cosines, clsAttn → scores [B, ns, 2]: (E, best j) per source, E = max_j cos − c·clsAttn, the lowest j
 * on ties, a NaN cosine never best. Both fragments of a pair scan the row; each keeps its half.
 */
export class MatchProgram extends TurboWebGLProgram {
  variableNames = ['cosines', 'clsAttn'];
  protected main(): string {
    return `
      void main() {
        ivec3 at = getOutputCoords();
        float bestCos = 0.0;
        int best = 0;
        bool found = false;
        for (int j = 0; j < ${ND}; j++) {
          float s = getCosines(at.x, at.y, j);
          if (!turboIsNan(s) && (!found || s > bestCos)) {
            bestCos = s;
            best = j;
            found = true;
          }
        }
        float e = found ? bestCos - ${C} * getClsAttn(at.x, ${SRC0} + 2 * at.y) : NAN;
        setOutput(at.z == 0 ? e : float(best));
      }`;
  }
}

/** scores → ranks [B, ns]: how many sources rank before source a (larger E, equal E and lower index). */
export class RankProgram extends TurboWebGLProgram {
  variableNames = ['scores'];
  protected main(): string {
    return `
      void main() {
        ivec2 at = getOutputCoords();
        uint ka = rankKey(getScores(at.x, at.y, 0));
        int before = 0;
        for (int o = 0; o < ${NS}; o++) {
          uint ko = rankKey(getScores(at.x, o, 0));
          if (ko > ka || (ko == ka && o < at.y)) before++;
        }
        setOutput(float(before));
      }`;
  }
}

/** scores, ranks → assignment [B, N]: protected, unmerged sources (index order if p > 0, else rank order), destinations. */
export class AssignProgram extends TurboWebGLProgram {
  variableNames = ['scores', 'ranks'];
  protected main(): string {
    return `
      void main() {
        ivec2 at = getOutputCoords();
        int b = at.x;
        int i = at.y;
        int dest = i;
        if (i >= ${P}) {
          if (imod(i, 2) == 0) {
            int a = (i - ${SRC0}) / 2;
            int rk = int(getRanks(b, a));
            if (rk < ${R}) {
              dest = ${DSTBASE} + int(getScores(b, a, 1));
            } else if (${P} > 0) {
              int k = 0;
              for (int o = 0; o < a; o++) if (int(getRanks(b, o)) >= ${R}) k++;
              dest = ${P} + k;
            } else {
              dest = ${P} + rk - ${R};
            }
          } else {
            dest = ${DSTBASE} + (i - ${DST0}) / 2;
          }
        }
        setOutput(float(dest));
      }`;
  }
}

/** ranks → bases [B, N']: the one input token at each output position that is not a merged source. */
export class BaseProgram extends TurboWebGLProgram {
  variableNames = ['ranks'];
  protected main(): string {
    return `
      void main() {
        ivec2 at = getOutputCoords();
        int o = at.y;
        int base = o;
        if (o >= ${DSTBASE}) {
          base = ${DST0} + 2 * (o - ${DSTBASE});
        } else if (o >= ${P}) {
          int k = o - ${P};
          int seen = 0;
          for (int a = 0; a < ${NS}; a++) {
            int rk = int(getRanks(at.x, a));
            bool hit = ${P} > 0 ? (rk >= ${R} && seen == k) : (rk == ${R} + k);
            if (hit) {
              base = ${SRC0} + 2 * a;
              break;
            }
            if (rk >= ${R}) seen++;
          }
        }
        setOutput(float(base));
      }`;
  }
}

/**
 * scores, ranks → links [B, ns + nd]: the merged sources of each destination as a chain in source
 * order. Slot a < ns: the next merged source after a with a's destination (-1: none); slot ns + j:
 * the first merged source of destination j (-1: none). The merge then gathers only a destination's
 * members instead of scanning every source per output element.
 */
export class LinksProgram extends TurboWebGLProgram {
  variableNames = ['scores', 'ranks'];
  protected main(): string {
    return `
      void main() {
        ivec2 at = getOutputCoords();
        int b = at.x;
        int slot = at.y;
        int j = slot - ${NS};
        int start = 0;
        if (slot < ${NS}) {
          j = int(getRanks(b, slot)) < ${R} ? int(getScores(b, slot, 1)) : -1;
          start = slot + 1;
        }
        int next = -1;
        if (j >= 0) {
          for (int a = start; a < ${NS}; a++) {
            if (int(getRanks(b, a)) < ${R} && int(getScores(b, a, 1)) == j) {
              next = a;
              break;
            }
          }
        }
        setOutput(float(next));
      }`;
  }
}

/**
 * x [B, N, C] (not with `sizes`), [weights: the input sizes], bases, links → the merged x
 * [B, N', C] (or, with `sizes`, the new sizes [B, N']). A destination walks its chain of merged sources, summing x·s and s in input-token order as merge.ts does; a token nothing merged into is copied.
 */
export class GatherMergeProgram extends TurboWebGLProgram {
  variableNames: string[];
  constructor(
    outputShape: number[],
    private readonly sizes: boolean,
    private readonly hasSize: boolean,
  ) {
    super(outputShape);
    this.variableNames = [...(sizes ? [] : ['x']), ...(hasSize ? ['weights'] : []), 'bases', 'links'];
  }
  protected override helpers(): string {
    return `
      float w(int b, int i) { return ${this.hasSize ? 'getWeights(b, i)' : '1.0'}; }
      float value(int b, int i, int k) { return ${this.sizes ? 'w(b, i)' : 'getX(b, i, k)'}; }`;
  }
  protected main(): string {
    const coords = this.sizes ? 'ivec2 at = getOutputCoords(); int k = 0;' : 'ivec3 at = getOutputCoords(); int k = at.z;';
    return `
      void main() {
        ${coords}
        int b = at.x;
        int o = at.y;
        int own = int(getBases(b, o));
        int members = 0;
        float acc = 0.0;
        float total = 0.0;
        bool ownAdded = false;
        if (o >= ${DSTBASE}) {
          int a = int(getLinks(b, ${NS} + o - ${DSTBASE}));
          for (int hop = 0; hop < ${NS}; hop++) {
            if (a < 0) break;
            int src = ${SRC0} + 2 * a;
            if (!ownAdded && own < src) {
              acc += value(b, own, k) * w(b, own);
              total += w(b, own);
              ownAdded = true;
            }
            acc += value(b, src, k) * w(b, src);
            total += w(b, src);
            members++;
            a = int(getLinks(b, a));
          }
        }
        if (members == 0) {
          setOutput(value(b, own, k));
        } else {
          if (!ownAdded) {
            acc += value(b, own, k) * w(b, own);
            total += w(b, own);
          }
          setOutput(${this.sizes ? 'total' : 'acc / total'});
        }
      }`;
  }
}
