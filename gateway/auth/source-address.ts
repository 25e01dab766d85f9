import net from 'node:net';

/**
 * The key a source address is throttled under: an IPv4 address as is (IPv4-mapped IPv6 too), an
 * IPv6 address by its /64, because one subscriber is handed a whole /64 and could otherwise
 * rotate through 2^64 addresses to escape a per-address limit.
 */
export function sourceKey(address: string | undefined | null): string {
  if (address === undefined || address === null || address === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1] as string;
  if (net.isIPv6(address)) return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
  return address;
}

function expandIpv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]?.split('::') ?? [''];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array.from({ length: Math.max(0, 8 - left.length - right.length) }, () => '0');
  return [...left, ...(tail === undefined ? [] : zeros), ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}
