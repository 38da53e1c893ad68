/**
 * Who an anonymous client is (src/request/client-address.ts): IPv4 per address, IPv6 per network, and a forwarded entry
 * that is not an address never named as the trusted proxy nor by its own text. Over HTTP: cost-budget.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createClientAddress, UNKNOWN_CLIENT, UNPARSEABLE_FORWARDED_CLIENT } from '../../src/request/client-address.js';
import { parseAddressRange } from '../../src/config.js';

const PROXY = '10.0.0.5';
const direct = createClientAddress([], 64);
const behindProxy = createClientAddress([parseAddressRange('10.0.0.0/8')!, parseAddressRange('fd00::/8')!], 64);

describe('an anonymous client', () => {
  it('is its IPv4 address, mapped or not', () => {
    expect(direct('203.0.113.7', null)).toBe('203.0.113.7');
    expect(direct('::ffff:203.0.113.7', null)).toBe('203.0.113.7');
    // However the mapped address is spelt: not the ::/64 that ::1 is in.
    expect(direct('::FFFF:203.0.113.7', null)).toBe('203.0.113.7');
    expect(direct('::ffff:cb00:7107', null)).toBe('203.0.113.7');
    expect(direct('0:0:0:0:0:ffff:203.0.113.7', null)).toBe('203.0.113.7');
    expect(direct(undefined, null)).toBe(UNKNOWN_CLIENT);
  });

  it('is its IPv6 /64 in canonical form: every address of one host is one client', () => {
    expect(direct('2001:db8:1:2::1', null)).toBe('2001:db8:1:2::/64');
    expect(direct('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', null)).toBe('2001:db8:1:2::/64');
    expect(direct('2001:db8:1:3::1', null)).toBe('2001:db8:1:3::/64');
    expect(direct('::1', null)).toBe('::/64');
    expect(direct('fe80::1%eth0', null)).toBe('fe80::/64');
    expect(direct('2001:db8::1.2.3.4', null)).toBe('2001:db8::/64');
  });

  it('is the IPv4 client behind NAT64\'s well-known prefix, not the gateway\'s /64', () => {
    expect(direct('64:ff9b::203.0.113.7', null)).toBe('203.0.113.7');
    expect(direct('64:ff9b::cb00:7108', null)).toBe('203.0.113.8');
  });

  it('is its IPv6 network of ANONYMOUS_IPV6_PREFIX bits', () => {
    expect(createClientAddress([], 48)('2001:db8:1:2::1', null)).toBe('2001:db8:1::/48');
    expect(createClientAddress([], 56)('2001:db8:1:2ff::1', null)).toBe('2001:db8:1:200::/56');
    expect(createClientAddress([], 128)('2001:db8::1', null)).toBe('2001:db8::1/128');
    expect(createClientAddress([], 1)('ffff::1', null)).toBe('8000::/1');
  });

  it('behind a trusted proxy, is the forwarded address, IPv6 by its network too', () => {
    expect(behindProxy(PROXY, '198.51.100.1')).toBe('198.51.100.1');
    expect(behindProxy(PROXY, '2001:db8:1:2::abcd, 10.0.0.9')).toBe('2001:db8:1:2::/64');
    expect(behindProxy(PROXY, '::ffff:198.51.100.1')).toBe('198.51.100.1');
    // The proxy's own request.
    expect(behindProxy(PROXY, null)).toBe(PROXY);
  });

  it('behind a trusted proxy, is the forwarded address without its port', () => {
    expect(behindProxy(PROXY, '198.51.100.1:5678')).toBe('198.51.100.1');
    expect(behindProxy(PROXY, '[2001:db8:1:2::1]:443')).toBe('2001:db8:1:2::/64');
    expect(behindProxy(PROXY, '[2001:db8:1:2::1]')).toBe('2001:db8:1:2::/64');
    expect(behindProxy(PROXY, '198.51.100.1, [fd00::7]:80')).toBe('198.51.100.1');
  });

  it('behind a trusted proxy, an entry that is not an address is one shared client: never the proxy, never its own text', () => {
    for (const forwarded of ['unknown', '', ' ', 'garbage-1', 'garbage-2', '198.51.100.1, ', 'nope, 10.0.0.9', '[nope]:80']) {
      expect(behindProxy(PROXY, forwarded), JSON.stringify(forwarded)).toBe(UNPARSEABLE_FORWARDED_CLIENT);
    }
    // Left of the first client that is not our proxy, nothing is read.
    expect(behindProxy(PROXY, 'garbage, 198.51.100.1')).toBe('198.51.100.1');
  });
});
