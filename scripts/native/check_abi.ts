// After the build: every TF_*/TFE_* symbol the addon imports must be defined by the libraries it
// was linked against. Node loads addons lazily (RTLD_LAZY), so a missing function would otherwise
// only show as a crash at the first call. nm prints versioned names (TFE_NewContext@@tensorflow);
// the version is stripped before comparing.

import { capture, probe } from './proc';

const TF_SYMBOL = /^(TF|TFE)_/;

function names(nmOutput: string): Set<string> {
  const out = new Set<string>();
  for (const line of nmOutput.split('\n')) {
    const name = line.trim().split(/\s+/).pop()?.replace(/@.*$/, '');
    if (name && TF_SYMBOL.test(name)) out.add(name);
  }
  return out;
}

/** The imported TF symbols the libraries lack ([] = compatible), or null when nm is unavailable. */
export async function missingSymbols(addon: string, libs: string[]): Promise<{ imported: number; missing: string[] } | null> {
  if (probe('nm', ['--version']) === null) return null;
  const wanted = names(await capture('nm', ['-D', '--undefined-only', addon], 'reading the addon symbols'));
  const have = new Set<string>();
  for (const lib of libs) for (const n of names(await capture('nm', ['-D', '--defined-only', lib], `reading ${lib}`))) have.add(n);
  return { imported: wanted.size, missing: [...wanted].filter((n) => !have.has(n)).sort() };
}
