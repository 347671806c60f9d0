// Option values parsed strictly, shared by every CLI.
import { InvalidArgumentError } from 'commander';

// Numbers are parsed strictly: plain decimals only (no hex, exponents or Infinity, which Number()
// would take), within bounds that no real schedule comes near, so a typo fails here.
const INTEGER = /^\+?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;
export const MAX_R = 65536;

export function integer(what: string, max: number) {
  return (s: string): number => {
    const t = s.trim();
    if (!INTEGER.test(t)) throw new InvalidArgumentError(`${what}: '${s}' is not a non-negative integer`);
    const v = Number(t);
    if (v > max) throw new InvalidArgumentError(`${what}: ${t} is more than ${max}`);
    return v;
  };
}

export function decimal(what: string, min: number, max: number) {
  return (s: string): number => {
    const t = s.trim();
    if (!DECIMAL.test(t)) throw new InvalidArgumentError(`${what}: '${s}' is not a decimal number`);
    const v = Number(t);
    if (v < min || v > max) throw new InvalidArgumentError(`${what}: ${t} is outside [${min}, ${max}]`);
    return v;
  };
}


/** --tau SIM,INFO,SIZE: MCTF's three temperatures (0 turns a criterion off). */
export function parseTau(s: string): { sim: number; info: number; size: number } {
  const parts = s.split(',');
  if (parts.length !== 3) throw new InvalidArgumentError(`--tau: '${s}' is not SIM,INFO,SIZE (three temperatures)`);
  const [sim, info, size] = parts.map(decimal('--tau', 0, 1e6));
  return { sim, info, size };
}
