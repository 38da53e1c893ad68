/**
 * Who the client is, for its anonymous cost budget: the socket's peer, or, only when that peer is a configured
 * trusted proxy (TRUSTED_PROXIES), the nearest address in X-Forwarded-For that is not itself a trusted proxy.
 * Trusting the header from anyone would let every client name itself anew per request and never run out.
 */
import { BlockList, isIP } from 'node:net';
import type { AddressRange } from './config.js';

export type ClientAddress = (peer: string | undefined, forwardedFor: string | null) => string;

/** A peer we cannot name (a request not from a socket: tests driving yoga.fetch). */
export const UNKNOWN_CLIENT = 'unknown';

export function createClientAddress(trusted: readonly AddressRange[]): ClientAddress {
  const proxies = new BlockList();
  for (const range of trusted) proxies.addSubnet(range.address, range.prefix, range.family);
  const isProxy = (address: string) => {
    const family = isIP(address);
    return family !== 0 && proxies.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };

  return (peer, forwardedFor) => {
    if (!peer) return UNKNOWN_CLIENT;
    const client = unmapped(peer);
    if (trusted.length === 0 || !forwardedFor || !isProxy(client)) return client;
    // Each proxy appends the address it received from: read from the right, past our own proxies.
    const hops = forwardedFor.split(',').map((hop) => unmapped(hop.trim()));
    for (let index = hops.length - 1; index >= 0; index -= 1) {
      const hop = hops[index]!;
      // A malformed entry is where the chain stops being ours to believe: the proxy before it is the client.
      if (isIP(hop) === 0) return index === hops.length - 1 ? client : hops[index + 1]!;
      if (!isProxy(hop)) return hop;
    }
    return hops[0] ?? client;
  };
}

/** `::ffff:10.0.0.1`, how a dual-stack socket shows an IPv4 peer, is that IPv4 address. */
const unmapped = (address: string) => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);
