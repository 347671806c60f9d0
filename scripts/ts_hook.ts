// Code that lets a plain `node` process require TypeScript sources, compiled with @swc/core (the
// compiler jest itself uses here): for node children started from specs or from scripts run
// uncompiled (spec/helpers/node_child.ts, scripts/fuzz/surface_run.ts).

export const TS_HOOK = `
const fs = require('fs');
const swc = require('@swc/core');
require.extensions['.ts'] = (m, file) => m._compile(swc.transformSync(fs.readFileSync(file, 'utf8'), {
  filename: file, jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' },
}).code, file);
`;
