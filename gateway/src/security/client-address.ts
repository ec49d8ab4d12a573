/**
 * Who is calling, when nobody is logged in: the client's address, and the
 * bucket that address is counted in.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * The client's address: the socket's peer, or, behind `trustedHops` reverse
 * proxies, the X-Forwarded-For entry that many hops from the right (each
 * trusted proxy appends the address it received the request from; anything
 * further left was written by the client and proves nothing). An entry that
 * is not an address falls back to the nearest proxy's view, the socket peer.
 */
export function clientAddress(
  request: Pick<IncomingMessage, 'headers' | 'socket'> | undefined,
  trustedHops: number,
): string {
  const peer = normalize(request?.socket?.remoteAddress) ?? 'unknown';
  if (trustedHops === 0 || !request) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const chain = [...forwarded, peer];
  const entry = chain[Math.max(0, chain.length - 1 - trustedHops)];
  return normalize(entry) ?? peer;
}

/** A bare IPv4 or IPv6 address (IPv4-mapped IPv6 as IPv4, no zone), or undefined for anything else. */
function normalize(address: string | undefined): string | undefined {
  if (!address) return undefined;
  let value = address.trim();
  // "[v6]:port" and "v4:port", as some proxies write them.
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed?.[1]) value = bracketed[1];
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(value)) value = value.slice(0, value.lastIndexOf(':'));
  value = value.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(value);
  if (mapped?.[1]) value = mapped[1];
  return isIP(value) ? value : undefined;
}

/**
 * The bucket an address is counted in: an IPv4 address itself, an IPv6
 * address by its /64 prefix (one subscriber usually holds a whole /64, so
 * counting single IPv6 addresses would let one client rotate through 2^64).
 */
export function addressBucket(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}

/** The eight 16-bit groups of an IPv6 address, as lower-case hex without leading zeros. */
function expandIpv6(address: string): string[] | undefined {
  let text = address;
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  return [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right].map((group) =>
    parseInt(group, 16).toString(16),
  );
}
