import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressBucket, clientAddress } from './client-address.ts';

const request = (remoteAddress: string | undefined, forwardedFor?: string | string[]) => ({
  socket: { remoteAddress } as never,
  headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
});

describe('clientAddress', () => {
  it('is the socket peer without trusted proxies, whatever X-Forwarded-For says', () => {
    assert.equal(clientAddress(request('203.0.113.9', '198.51.100.1'), 0), '203.0.113.9');
    assert.equal(clientAddress(request('::ffff:127.0.0.1'), 0), '127.0.0.1');
    assert.equal(clientAddress(undefined, 1), 'unknown');
  });

  it('takes the entry as many hops from the right as proxies are trusted', () => {
    const chain = request('10.0.0.2', 'spoofed, 198.51.100.7, 10.0.0.1');
    assert.equal(clientAddress(chain, 1), '10.0.0.1');
    assert.equal(clientAddress(chain, 2), '198.51.100.7');
    // More hops trusted than there are entries: the leftmost one.
    assert.equal(clientAddress(request('10.0.0.2', '198.51.100.7'), 5), '198.51.100.7');
    assert.equal(clientAddress(request('10.0.0.2', ['198.51.100.7', '10.0.0.1']), 2), '198.51.100.7');
  });

  it('accepts ports, brackets and zones, and falls back to the peer for anything that is not an address', () => {
    assert.equal(clientAddress(request('10.0.0.2', '198.51.100.7:4711'), 1), '198.51.100.7');
    assert.equal(clientAddress(request('10.0.0.2', '[2001:DB8::1]:443'), 1), '2001:db8::1');
    assert.equal(clientAddress(request('10.0.0.2', 'fe80::1%eth0'), 1), 'fe80::1');
    assert.equal(clientAddress(request('10.0.0.2', 'not-an-address'), 1), '10.0.0.2');
    assert.equal(clientAddress(request('10.0.0.2', ''), 1), '10.0.0.2');
  });
});

describe('addressBucket', () => {
  it('counts IPv4 addresses one by one and IPv6 addresses by their /64', () => {
    assert.equal(addressBucket('198.51.100.7'), '198.51.100.7');
    assert.equal(addressBucket('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
    assert.equal(addressBucket('2001:db8:1:2::9'), '2001:db8:1:2::/64');
    assert.equal(addressBucket('2001:0db8:0001:0002::1'), '2001:db8:1:2::/64');
    assert.equal(addressBucket('2001:db8::'), '2001:db8:0:0::/64');
    assert.equal(addressBucket('::1'), '0:0:0:0::/64');
    assert.equal(addressBucket('64:ff9b::198.51.100.7'), '64:ff9b:0:0::/64');
  });
});
