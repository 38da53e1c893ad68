/**
 * Who the client is, for its anonymous cost budget: the socket's peer, or, only when that peer is a configured
 * trusted proxy (TRUSTED_PROXIES), the nearest address in X-Forwarded-For that is not itself a trusted proxy.
 * Trusting the header from anyone would let every client name itself anew per request and never run out.
 *
 * An IPv4 client is its address. An IPv6 client is its network (ANONYMOUS_IPV6_PREFIX bits, /64 by default,
 * `2001:db8:1:2::/64`): a host is handed a whole /64 and may use any address in it, so keyed per address one
 * client could take a fresh budget with every request, for ever.
 */
import { BlockList, isIP } from 'node:net';
import type { AddressRange } from '../config.js';

export type ClientAddress = (peer: string | undefined, forwardedFor: string | null) => string;

/** A peer we cannot name (a request not from a socket: tests driving yoga.fetch). */
export const UNKNOWN_CLIENT = 'unknown';

/**
 * Every client whose X-Forwarded-For, read past our own proxies, reaches an entry that is not an address: one
 * bucket for all of them. Not the proxy's address, which would put them (and whoever can make a proxy write
 * garbage) in the budget of everyone else behind that proxy; and not the entry's text, which a client can
 * often choose, so every new spelling would be a fresh budget. A shared bucket can only be spent, never minted.
 */
export const UNPARSEABLE_FORWARDED_CLIENT = 'unparseable-forwarded-for';

export function createClientAddress(trusted: readonly AddressRange[], ipv6Prefix: number): ClientAddress {
  const proxies = new BlockList();
  for (const range of trusted) proxies.addSubnet(range.address, range.prefix, range.family);
  const isProxy = (address: string) => {
    const family = isIP(address);
    return family !== 0 && proxies.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
  const named = (address: string) => {
    if (isIP(address) !== 6) return address;
    const groups = ipv6Groups(address);
    return translatedIPv4(groups) ?? ipv6Network(groups, ipv6Prefix);
  };

  return (peer, forwardedFor) => {
    if (!peer) return UNKNOWN_CLIENT;
    const client = unmapped(peer);
    // Absent is the proxy's own request; present but empty is a proxy naming no one (below).
    if (trusted.length === 0 || forwardedFor === null || !isProxy(client)) return named(client);
    // Each proxy appends the address it received from: read from the right, past our own proxies.
    const hops = forwardedFor.split(',').map((hop) => unmapped(withoutPort(hop.trim())));
    for (let index = hops.length - 1; index >= 0; index -= 1) {
      const hop = hops[index]!;
      if (isIP(hop) === 0) return UNPARSEABLE_FORWARDED_CLIENT;
      if (!isProxy(hop)) return named(hop);
    }
    return named(hops[0]!);
  };
}

/** `::ffff:10.0.0.1`, how a dual-stack socket shows an IPv4 peer, is that IPv4 address (however it is spelt). */
const unmapped = (address: string) => (isIP(address) === 6 ? (mappedIPv4(ipv6Groups(address)) ?? address) : address);

const dotted = (groups: readonly number[]) => `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;

/** The IPv4 address in an IPv4-mapped IPv6 address (`::ffff:0:0/96`). */
function mappedIPv4(groups: readonly number[]): string | undefined {
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff ? dotted(groups) : undefined;
}

/**
 * The IPv4 client behind a mapped address or NAT64's well-known prefix (`64:ff9b::/96`, RFC 6052): keyed as that
 * IPv4 address, or every IPv4 client a NAT64 gateway serves would share the gateway's /64.
 */
function translatedIPv4(groups: readonly number[]): string | undefined {
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0);
  return nat64 ? dotted(groups) : mappedIPv4(groups);
}

/** Some proxies (Azure's, IIS ARR) write the client's port too: `1.2.3.4:5678`, `[2001:db8::1]:443`. */
function withoutPort(hop: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d{1,5})?$/.exec(hop);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(hop);
  return v4 ? v4[1]! : hop;
}

/** A valid IPv6 address's eight 16-bit groups (a zone id left out). */
function ipv6Groups(address: string): number[] {
  const [head = '', tail] = address.split('%', 1)[0]!.split('::');
  const groupsOf = (text: string) =>
    text === ''
      ? []
      : text.split(':').flatMap((group) => {
          if (!group.includes('.')) return [parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** The first `prefix` bits of an IPv6 address, in RFC 5952 form: `2001:db8:1:2::/64`. */
function ipv6Network(groups: readonly number[], prefix: number): string {
  const masked = groups.map((group, index) => {
    const bits = Math.min(16, Math.max(0, prefix - 16 * index));
    return group & ((0xffff << (16 - bits)) & 0xffff);
  });
  // The URL parser writes IPv6 hosts the RFC 5952 way (lower case, the first longest run of zeros as `::`).
  return `${new URL(`http://[${masked.map((group) => group.toString(16)).join(':')}]`).hostname.slice(1, -1)}/${prefix}`;
}
