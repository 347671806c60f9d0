// eval-grid's plot: top-1 against measured speed-up, one line per alpha, as vega-lite rendered to
// SVG headless.

import { pathToFileURL } from 'url';
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };
import { GridRow, fmt } from './results';

type VegaModule = typeof import('vega', { with: { 'resolution-mode': 'import' } });
type VegaLiteModule = typeof import('vega-lite', { with: { 'resolution-mode': 'import' } });

// tsc (module: commonjs) compiles `import(x)` to `require(x)`, which cannot load an ES module
// (vega, vega-lite 6) on every Node 20. A Function body is not rewritten, so this stays a real
// dynamic import. The specifier is resolved to a file URL first, so it does not depend on the cwd.
const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** `import()` of an ESM-only package from this CommonJS build. */
export async function importEsm<T>(pkg: string): Promise<T> {
  let url: string;
  try {
    url = pathToFileURL(require.resolve(pkg)).href;
  } catch {
    throw new Error(`cannot find package '${pkg}' (a devDependency: run npm install)`);
  }
  try {
    return (await dynamicImport(url)) as T;
  } catch (e) {
    throw new Error(`cannot load the ES module '${pkg}' in this runtime (${(e as Error).message}); pass --no-plot to skip the plot`);
  }
}


export function alphaLabel(a: number | null): string {
  return a === null ? 'unmerged' : a === 0 ? 'ToMe (alpha 0)' : `Turbo alpha ${a}`;
}

/**
 * vega-lite spec: one line per alpha (ToMe dashed grey), each starting at the unmerged point
 * (black diamond); point shape = r; x = measured speed-up, y = top-1.
 */
export function plotSpec(rows: GridRow[], title: string): TopLevelSpec {
  const unmerged = rows.find((x) => x.alpha === null);
  const turbo = rows.filter((x) => x.alpha !== null);
  const alphas = [...new Set(turbo.map((x) => x.alpha as number))].sort((a, b) => a - b);
  const rs = [...new Set(turbo.map((x) => x.r))].sort((a, b) => a - b);
  const curves = alphas.map(alphaLabel);
  const point = (x: GridRow, curve: string) => ({ curve, r: x.r, rLabel: `r = ${x.r}`, alpha: x.alpha, top1: x.top1, speedup: x.speedup, imagesPerSec: x.imagesPerSec });
  const lineData = alphas.flatMap((a) => [...(unmerged ? [unmerged] : []), ...turbo.filter((x) => x.alpha === a)].map((x) => point(x, alphaLabel(a))));
  const pointData = turbo.map((x) => point(x, alphaLabel(x.alpha)));
  const warm = ['#fdae61', '#f46d43', '#d73027', '#a50026', '#67001f', '#74add1', '#4575b4'];
  let k = 0;
  const colours = curves.map((c) => (c.startsWith('ToMe') ? '#666666' : warm[k++ % warm.length]));
  const x = { field: 'speedup', type: 'quantitative', title: 'measured throughput: images/s ÷ unmerged images/s', scale: { zero: false, nice: false, padding: 18 } } as const;
  const y = { field: 'top1', type: 'quantitative', title: 'top-1 (%)', scale: { zero: false, padding: 14 } } as const;
  const color = { field: 'curve', type: 'nominal', title: 'merging', sort: curves, scale: { domain: curves, range: colours } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, fontSize: 12 },
    width: 560,
    height: 360,
    background: 'white',
    config: { axis: { grid: true, gridOpacity: 0.5 }, legend: { labelFontSize: 10, titleFontSize: 10 } },
    layer: [
      {
        data: { values: lineData },
        mark: { type: 'line', strokeWidth: 1.6 },
        encoding: {
          x,
          y,
          order: { field: 'r', type: 'quantitative' },
          color,
          strokeDash: { field: 'curve', type: 'nominal', sort: curves, scale: { domain: curves, range: curves.map((c) => (c.startsWith('ToMe') ? [5, 3] : [1, 0])) } },
        },
      },
      {
        data: { values: pointData },
        mark: { type: 'point', filled: true, size: 50, opacity: 0.95 },
        encoding: {
          x,
          y,
          color,
          shape: { field: 'rLabel', type: 'nominal', title: 'r (per block)', sort: rs.map((r) => `r = ${r}`) },
        },
      },
      ...(unmerged
        ? [
            {
              data: { values: [point(unmerged, 'unmerged')] },
              layer: [
                { mark: { type: 'point' as const, shape: 'diamond', size: 130, filled: true, color: 'black', opacity: 1 }, encoding: { x, y } },
                { mark: { type: 'text' as const, align: 'left' as const, dx: 8, dy: -10, fontSize: 10 }, encoding: { x, y, text: { value: `unmerged ${fmt(unmerged.top1)} %` } } },
              ],
            },
          ]
        : []),
    ],
    resolve: { scale: { color: 'shared' } },
  } as TopLevelSpec;
}

/** vega-lite → vega → SVG, headless. */
export async function renderPlot(spec: TopLevelSpec): Promise<string> {
  const vl = await importEsm<VegaLiteModule>('vega-lite');
  const vega = await importEsm<VegaModule>('vega');
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
