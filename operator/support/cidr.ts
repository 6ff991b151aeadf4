/** IPv4 and IPv6 CIDR ranges, parsed exactly (bigint addresses), for the firewall rules' checks. */
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  bits: 32 | 128;
  address: bigint;
  prefix: number;
}

function ipToBigInt(ip: string): { bits: 32 | 128; address: bigint } | undefined {
  if (isIPv4(ip)) return { bits: 32, address: ip.split('.').reduce((a, o) => (a << 8n) | BigInt(o), 0n) };
  if (!isIPv6(ip) || ip.includes('%')) return undefined;
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const v4 = ipToBigInt(g)?.address ?? 0n;
          return [Number(v4 >> 16n), Number(v4 & 0xffffn)];
        });
  const [head = '', tail] = ip.split('::');
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return { bits: 128, address: all.reduce((a, g) => (a << 16n) | BigInt(g), 0n) };
}

export function parseCidr(text: string): (Cidr & { canonical: boolean }) | undefined {
  const m = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(text);
  const ip = m?.[1] === undefined ? undefined : ipToBigInt(m[1]);
  const prefix = Number(m?.[2]);
  if (!ip || prefix > ip.bits) return undefined;
  const hostMask = (1n << BigInt(ip.bits - prefix)) - 1n;
  return { ...ip, prefix, canonical: (ip.address & hostMask) === 0n };
}

/** Whether `inner` is a proper sub-range of `outer` (same family, longer prefix). */
export const strictlyInside = (outer: Cidr, inner: Cidr): boolean => {
  const shift = BigInt(outer.bits - outer.prefix);
  return outer.bits === inner.bits && inner.prefix > outer.prefix && inner.address >> shift === outer.address >> shift;
};
