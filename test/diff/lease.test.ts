// Differential cases for leases: grant (explicit and server-chosen ids, TTL bounds), revoke, keep-alive, time-to-live,
// the lease list, keys attached to leases, and expiry deleting those keys. Every case revokes the leases it granted,
// so the lease list a case sees holds its own leases only.
import test from 'ava';
import { call, del, diffSuite, get, getPrefix, keepalive, lease, lines, masked, near, put, unordered, watch, key, prefixEnd, type Step } from './harness.js';

const grant = (n: number, TTL: number | string) => call('/v3/lease/grant', { ID: lease(n), TTL });
const revoke = (n: number) => call('/v3/lease/revoke', { ID: lease(n) });
// etcd lists a lease's keys, and the leases, in Go map order (random)
const ttl = (n: number, keys = false) => call('/v3/lease/timetolive', { ID: lease(n), ...(keys ? { keys: true } : {}) }, [near('TTL', 1), unordered('keys')]);
const leases = () => call('/v3/lease/leases', {}, [unordered('leases')]);
/** Waits until the key is gone on each server (a lease expired): nothing is compared, a timeout is a difference. */
const gone = (k: string): Step => ({ type: 'until', route: '/v3/kv/range', body: { key: key(k), count_only: true }, done: (r) => (r as { count?: string }).count === undefined, timeoutMs: 12_000, label: `${k} deleted by expiry` });

diffSuite(test, { area: 'lease' }, [
  ['grant with an id, list, revoke', [grant(1, 60), leases(), revoke(1), leases()]],
  ['grant with the id chosen by the server', [call('/v3/lease/grant', { TTL: 60 }, [masked('ID')]), call('/v3/lease/leases', {}, [masked('leases.*.ID')]), { type: 'revokeAllLeases' }, leases()]],
  ['the lease list holds every lease', [grant(3, 60), grant(1, 60), grant(2, 60), leases(), revoke(1), revoke(2), revoke(3)]],
  ['grant below the minimum TTL is raised to it', [grant(1, 1), grant(2, 0), grant(3, -5), ttl(1), ttl(2), ttl(3), revoke(1), revoke(2), revoke(3)]],
  ['grant an id that exists', [grant(1, 60), grant(1, 30), revoke(1)]],
  ['grant with a TTL too large, and at the maximum', [grant(1, 9_000_000_001), grant(2, 9_000_000_000), revoke(2)]],
  ['grant with a TTL as a string', [grant(1, '30'), ttl(1), revoke(1)]],
  ['grant with a negative id', [call('/v3/lease/grant', { ID: '-5', TTL: 60 }), call('/v3/lease/revoke', { ID: '-5' })]],
  ['revoke an unknown lease, and one already revoked', [call('/v3/lease/revoke', { ID: lease(9) }), grant(1, 60), revoke(1), revoke(1)]],
  ['revoke through the /v3/kv/lease alias', [grant(1, 60), call('/v3/kv/lease/revoke', { ID: lease(1) }), call('/v3/kv/lease/timetolive', { ID: lease(1) }), call('/v3/kv/lease/leases', {})]],
  ['time to live with and without keys', [grant(1, 60), put('a', '1', { lease: lease(1) }), put('b', '1', { lease: lease(1) }), ttl(1), ttl(1, true), revoke(1)]],
  ['time to live of an unknown lease', [ttl(77), ttl(77, true)]],
  ['revoke deletes the attached keys in one revision', [grant(1, 60), put('a', '1', { lease: lease(1) }), put('b', '2', { lease: lease(1) }), put('c', '3'), revoke(1), getPrefix(), ttl(1)]],
  ['a put without the lease detaches the key', [grant(1, 60), put('a', '1', { lease: lease(1) }), put('a', '2'), ttl(1, true), revoke(1), get('a')]],
  ['ignore_lease keeps the lease, a new lease moves the key', [grant(1, 60), grant(2, 60), put('a', '1', { lease: lease(1) }), put('a', '2', { ignore_lease: true }), get('a'), put('a', '3', { lease: lease(2) }), ttl(1, true), ttl(2, true), revoke(1), get('a'), revoke(2), get('a')]],
  ['deleting a key detaches it from its lease', [grant(1, 60), put('a', '1', { lease: lease(1) }), del('a'), ttl(1, true), revoke(1)]],
  ['put with a revoked lease', [grant(1, 60), revoke(1), put('a', '1', { lease: lease(1) })]],
  ['keep-alive of a live lease and of an unknown one', [grant(1, 45), keepalive([{ ID: lease(1) }, { ID: lease(2) }, { ID: lease(1) }]), ttl(1), revoke(1), keepalive([{ ID: lease(1) }])]],
  ['keep-alive right after writes carries the current revision', [grant(1, 30), put('a', '1'), put('a', '2'), keepalive([{ ID: lease(1) }]), revoke(1), keepalive([{ ID: lease(1) }])]],
  ['keep-alive with an empty body and with an id as a string', [grant(1, 30), keepalive(''), keepalive([{ ID: lease(1) }]), revoke(1)]],
  ['keep-alive whose first message does not decode', [keepalive('{"ID":"x"}'), keepalive('{"ID":true}')]],
  ['keep-alive whose second message does not decode', [grant(1, 30), keepalive([{ ID: lease(1) }, { ID: 'bad' }]), revoke(1)]],
  ['expiry deletes the attached keys in one revision and the watchers see it', [
    watch('w', { create_request: { key: key(''), range_end: prefixEnd('') } }),
    lines('w', 1),
    grant(1, 2),
    put('a', '1', { lease: lease(1) }),
    put('b', '2', { lease: lease(1) }),
    put('c', '3'),
    lines('w', 3),
    gone('a'),
    getPrefix(),
    lines('w', 1),
    ttl(1),
    keepalive([{ ID: lease(1) }]),
    call('/v3/lease/revoke', { ID: lease(1) }),
  ]],
  ['revoke with a prev_kv watcher: the deletes carry the leased values', [
    grant(1, 60),
    put('a', '1', { lease: lease(1) }),
    put('b', '2', { lease: lease(1), prev_kv: true }),
    watch('w', { create_request: { key: key(''), range_end: prefixEnd(''), prev_kv: true } }),
    lines('w', 1),
    revoke(1),
    lines('w', 1),
  ]],
  ['keep-alive restores the full TTL', [grant(1, 3), { type: 'sleep', ms: 1100 }, ttl(1), keepalive([{ ID: lease(1) }]), ttl(1), revoke(1)]],
  ['a kept-alive lease outlives its TTL', [grant(1, 2), put('a', '1', { lease: lease(1) }), { type: 'sleep', ms: 1200 }, keepalive([{ ID: lease(1) }]), { type: 'sleep', ms: 1200 }, get('a'), revoke(1)]],
]);
