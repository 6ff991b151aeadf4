/**
 * Kubernetes quantities ("500m", "1Gi", "2e3") as numbers. Ground floor: the validator checks
 * them, render sizes buffers from them, and the apply diff compares them (the API server stores
 * the canonical form, so "1024Mi" and "1Gi" are the same value).
 */
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([KMGTPE]i)|[eE]([+-]?\d+)|([numkMGTPE]))?$/;
const BINARY = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 } as const;
const DECIMAL = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 } as const;

/** A Kubernetes quantity as a float: precise enough to compare sizes, never used to compute them. */
export function parseQuantity(text: string): number | undefined {
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, num = '', binary, exponent, decimal] = m;
  const n = Number(num);
  if (binary) return n * 1024 ** BINARY[binary as keyof typeof BINARY];
  if (exponent) return n * 10 ** Number(exponent);
  if (decimal) return n * 10 ** DECIMAL[decimal as keyof typeof DECIMAL];
  return n;
}
