// Short end-to-end runs of the load generator against a real etcd 3.4 (single member, loopback, temp data dir),
// over gRPC and over the JSON gateway: every put must land (the store's revision moves by exactly the number of
// puts), and small watch and keep-alive runs must deliver every event and answer. A few hundred requests each.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startCluster, type RunningCluster } from '../../bench/compare/cluster.js';
import { etcd } from '../../bench/compare/servers.js';
import type { DriverKind } from '../../bench/loadgen/drivers/types.js';
import { ServerError } from '../../bench/loadgen/errors.js';
import { encodePutRequest, grpcPaths } from '../../bench/loadgen/etcd-proto.js';
import { HttpConnection, postRequest } from '../../bench/loadgen/http1.js';
import { Http2UnaryConnection } from '../../bench/loadgen/http2-unary.js';
import { runLoad } from '../../bench/loadgen/runner.js';
import type { RunOptions, Workload } from '../../bench/loadgen/workload.js';

let cluster: RunningCluster | undefined;
let baseDir = '';

test.before(async () => {
  baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tetcd-loadgen-e2e-'));
  cluster = await startCluster(etcd, 1, baseDir, 'e2e');
});

test.after.always(async () => {
  await cluster?.stop();
  fs.rmSync(baseDir, { recursive: true, force: true });
});

/** The store's revision and the number of keys made of digits (the put workload's keys), read over the gateway. */
async function storeState(): Promise<{ revision: number; count: number }> {
  const u = new URL(cluster!.clientUrls[0]!);
  const c = await HttpConnection.connect(u.hostname, Number(u.port));
  try {
    const body = await new Promise<string>((resolve, reject) => {
      let text = '';
      c.send(postRequest('/v3/kv/range', c.hostHeader, '{"key":"MA==","range_end":"Og==","count_only":true}'), {
        head: () => {},
        data: (d) => {
          text += d.toString();
        },
        end: () => resolve(text),
        fail: reject,
      });
    });
    const parsed = JSON.parse(body) as { header: { revision: string }; count?: string };
    return { revision: Number(parsed.header.revision), count: Number(parsed.count ?? 0) };
  } finally {
    c.close();
  }
}

function options(driver: DriverKind, workload: Workload, extra: Partial<RunOptions> = {}): RunOptions {
  return { driver, endpoints: cluster!.clientUrls, connections: 2, clients: 4, workers: 1, total: 0, durationMs: 0, warmupMs: 0, rate: 0, workload, ...extra };
}

for (const driver of ['grpc', 'grpc-h2', 'http'] as const) {
  test.serial(`put over ${driver}: 300 puts, all answered, all applied`, async (t) => {
    const before = await storeState();
    const result = await runLoad(options(driver, { type: 'put', keySizeBytes: 8, valueSizeBytes: 256, keySpaceSize: 300, sequentialKeys: true }, { total: 300 }));
    t.is(result.errors, 0, result.errorSamples.join('; '));
    t.is(result.ok, 300);
    t.is(result.latency.count, 300);
    t.true(result.throughput > 0);
    t.true(result.cpu.processCores > 0);
    const after = await storeState();
    t.is(after.revision - before.revision, 300);
    t.is(after.count, 300); // the same 300 keys, whichever driver wrote them
  });
}

test.serial('raw HTTP/2 gRPC calls to etcd: a put succeeds, an empty key is refused', async (t) => {
  const u = new URL(cluster!.clientUrls[0]!);
  const c = await Http2UnaryConnection.connect(u.hostname, Number(u.port));
  try {
    const call = (message: Buffer): Promise<Error | undefined> => new Promise((resolve) => c.call(grpcPaths.put, message, resolve));
    t.is(await call(encodePutRequest({ key: Buffer.from('h2-key'), value: Buffer.from('v') })), undefined);
    t.true((await call(encodePutRequest({ key: Buffer.alloc(0), value: Buffer.from('v') }))) instanceof ServerError);
  } finally {
    c.close();
  }
});

for (const driver of ['grpc', 'http'] as const) {
  test.serial(`watch over ${driver}: every put reaches every watcher`, async (t) => {
    const result = await runLoad(options(driver, { type: 'watch', streams: 2, watchersPerStream: 5, key: `w-${driver}`, putRate: 50, putTotal: 4, valueSizeBytes: 32 }));
    t.is(result.watch?.watchers, 10);
    t.is(result.watch?.puts, 4);
    t.is(result.watch?.events, 40);
    t.is(result.watch?.eventLatency.count, 40);
    t.is(result.errors, 0, result.errorSamples.join('; '));
  });

  test.serial(`lease keep-alive over ${driver}: every keep-alive answered`, async (t) => {
    const result = await runLoad(options(driver, { type: 'lease-keepalive', leases: 20, ttlSeconds: 60, streams: 2, batch: 5 }, { total: 100 }));
    t.is(result.errors, 0, result.errorSamples.join('; '));
    t.is(result.ok, 100);
  });
}
