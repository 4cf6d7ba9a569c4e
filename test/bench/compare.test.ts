// The comparison's pure parts: wrk's output parsed, its Lua script generated, medians, settings from flags and the
// environment, and RESULTS.md rendered with a ratio column and n/a for a server that could not run.
import test from 'ava';
import type { CompareReport, Measurement } from '../../bench/compare/compare.js';
import { parseSettings } from '../../bench/compare/compare.js';
import { compareWorkloads } from '../../bench/compare/matrix.js';
import { median, renderResults } from '../../bench/compare/results-md.js';
import { parseWrkDuration, parseWrkOutput, summarizeRounds, wrkScript, type WrkResult } from '../../bench/compare/wrk-put.js';
import { UsageError } from '../../bench/loadgen/errors.js';
import { createHistogram, recordUs, summarize } from '../../bench/loadgen/histogram.js';
import type { RunResult } from '../../bench/loadgen/runner.js';

const wrkOutput = `Running 10s test @ http://127.0.0.1:2379/v3/kv/put
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.91ms    1.02ms  21.45ms   80.12%
    Req/Sec    11.05k   612.33    12.40k    71.00%
  Latency Distribution
     50%    2.75ms
     75%    3.30ms
     90%    4.01ms
     99%  850.00us
  219890 requests in 10.00s, 70.88MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  21987.03
Transfer/sec:      7.09MB
`;

test('wrk --latency output: throughput, p50, p99 and errors', (t) => {
  t.deepEqual(parseWrkOutput(wrkOutput), { requestsPerSecond: 21987.03, p50Us: 2750, p99Us: 850, errors: 7 });
  t.is(parseWrkDuration('1.50s'), 1_500_000);
  t.is(parseWrkDuration('2.00m'), 120_000_000);
  t.true(Number.isNaN(parseWrkDuration('fast')));
  t.true(Number.isNaN(parseWrkOutput('garbage').requestsPerSecond));
});

test('the wrk script posts base64 8-byte keys with one 256-byte value, cycling through the keys', (t) => {
  const script = wrkScript(3);
  const value = Buffer.alloc(256, 0x76).toString('base64');
  t.regex(script, /wrk\.method = "POST"/);
  t.true(script.includes(`{"key":"${Buffer.from('00000000').toString('base64')}","value":"${value}"}`));
  t.true(script.includes(`{"key":"${Buffer.from('00000002').toString('base64')}","value":"${value}"}`));
  t.false(script.includes(Buffer.from('00000003').toString('base64')));
  t.regex(script, /wrk\.format\(nil, "\/v3\/kv\/put", nil, bodies\[\(n % #bodies\) \+ 1\]\)/);
});

test('medians: odd, even, empty', (t) => {
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.true(Number.isNaN(median([])));
});

test('settings from flags win over the environment; bad names are refused', (t) => {
  const saved = process.env.BENCH_ROUNDS;
  process.env.BENCH_ROUNDS = '3';
  try {
    const s = parseSettings(['--duration', '5', '--clusters=1', '--workloads', 'put-1,watch-10k']);
    t.is(s.durationMs, 5000);
    t.is(s.rounds, 3);
    t.deepEqual(s.clusterSizes, [1]);
    t.deepEqual(s.workloadIds, ['put-1', 'watch-10k']);
    t.is(parseSettings(['--rounds', '1']).rounds, 1);
  } finally {
    if (saved === undefined) delete process.env.BENCH_ROUNDS;
    else process.env.BENCH_ROUNDS = saved;
  }
  t.throws(() => parseSettings(['--servers', 'zookeeper']), { instanceOf: UsageError });
  t.throws(() => parseSettings(['--workloads', 'put-3']), { instanceOf: UsageError });
  t.throws(() => parseSettings(['--duration', '0']), { instanceOf: UsageError });
});

function fakeResult(throughput: number, p50Us: number): RunResult {
  const h = createHistogram();
  for (let i = 0; i < 10; i++) recordUs(h, p50Us);
  return {
    options: { driver: 'grpc-h2', endpoints: ['http://127.0.0.1:1'], connections: 1, clients: 1, workers: 1, total: 0, durationMs: 2000, warmupMs: 1000, rate: 0, workload: { type: 'put', keySizeBytes: 8, valueSizeBytes: 256, keySpaceSize: 100_000, sequentialKeys: false } },
    ok: throughput * 2,
    errors: 0,
    errorSamples: [],
    elapsedSeconds: 2,
    throughput,
    latency: summarize(h),
    cpu: { processCores: 0.3, workerCores: [0.2], mainCores: 0, usPerOperation: 100 },
  };
}

test('RESULTS.md: medians per cell, ratio against the first server, n/a for an unavailable one', (t) => {
  const put1 = compareWorkloads.find((w) => w.id === 'put-1')!;
  const etcdRun = (round: number, throughput: number): Measurement => ({
    server: 'etcd',
    clusterSize: 1,
    round,
    workload: put1,
    path: 'best',
    command: 'node dist/bench/loadgen/cli.js put --driver grpc-h2 --endpoints http://127.0.0.1:1',
    result: fakeResult(throughput, 1000),
    figures: { cores: 0.5, rssMaxBytes: 64 * 1024 * 1024, rssBeforeBytes: 60 * 1024 * 1024 },
  });
  const report: CompareReport = {
    settings: { durationMs: 2000, warmupMs: 1000, rounds: 2, clusterSizes: [1], serverNames: ['etcd', 'tetcd'], workloadIds: ['put-1'], budgetMs: 60_000, out: 'x' },
    machine: '2 x CPU',
    loadAverage: [1, 2],
    startedAt: '2026-01-01T00:00:00.000Z',
    elapsedSeconds: 10,
    gitCommit: 'abc123',
    calibration: [],
    calibrationCommands: [],
    unavailable: new Map([['tetcd', 'bin/tetcd is missing']]),
    measurements: [
      etcdRun(1, 1000),
      etcdRun(2, 3000),
      { server: 'tetcd', clusterSize: 1, round: 1, workload: put1, path: 'best', command: '', missing: 'bin/tetcd is missing' },
    ],
    serverCommands: new Map([['etcd 1', ['/usr/bin/etcd --name m0']]]),
  };
  const md = renderResults(report);
  t.regex(md, /\*\*Sample output\.\*\*.*tetcd: bin\/tetcd is missing/);
  t.regex(md, /## put-1: put, 1 client/);
  t.regex(md, /\| 1 \| fastest path \| 2,000 \(gRPC\/h2\) \| 1\.00ms \| 1\.00ms \| 64 MiB \| 0\.50 \| n\/a \|  \|  \|  \|  \| n\/a \|/);
  t.regex(md, /\| etcd \| 1 \| 2 \| put-1 \| grpc-h2 \| 3,000\/s \|/);
  t.true(md.includes('/usr/bin/etcd --name m0'));
  t.true(md.includes('--endpoints <cluster>'));
});

function putRun(server: string, clusterSize: number, workloadId: string, path: 'best' | 'json', throughput: number, p99Us: number): Measurement {
  const h = createHistogram();
  for (let i = 0; i < 10; i++) recordUs(h, p99Us);
  return {
    server,
    clusterSize,
    round: 1,
    workload: compareWorkloads.find((w) => w.id === workloadId)!,
    path,
    command: 'x',
    result: { ...fakeResult(throughput, p99Us), latency: summarize(h) },
    figures: { cores: 0.5, rssMaxBytes: 1, rssBeforeBytes: 1 },
  };
}

function reportOf(measurements: Measurement[]): CompareReport {
  return {
    settings: { durationMs: 2000, warmupMs: 1000, rounds: 1, clusterSizes: [1, 3], serverNames: ['etcd', 'tetcd'], workloadIds: undefined, budgetMs: 60_000, out: 'x' },
    machine: '2 x CPU',
    loadAverage: [1, 2],
    startedAt: '2026-01-01T00:00:00.000Z',
    elapsedSeconds: 10,
    gitCommit: 'abc123',
    calibration: [],
    calibrationCommands: [],
    unavailable: new Map(),
    measurements,
    serverCommands: new Map(),
  };
}

test('Targets: best etcd gRPC put rate against tetcd\'s faster path, p99 at the same concurrency; unmeasured watch', (t) => {
  const md = renderResults(
    reportOf([
      putRun('etcd', 1, 'put-1', 'best', 1_000, 1_000),
      putRun('etcd', 1, 'put-256', 'best', 6_000, 100_000),
      putRun('tetcd', 1, 'put-1', 'best', 400, 2_000),
      putRun('tetcd', 1, 'put-256', 'best', 8_000, 80_000),
      putRun('tetcd', 1, 'put-256', 'json', 9_500, 90_000),
      putRun('etcd', 3, 'put-256', 'best', 4_000, 100_000),
      putRun('tetcd', 3, 'put-256', 'best', 4_400, 200_000),
    ]),
  );
  t.regex(md, /## Targets/);
  // 9,500 over HTTP against 6,000: 1.58x, p99 90 ms against etcd's 100 ms at 256 clients
  t.regex(md, /\*\*met\*\*: single-member durable puts .* tetcd's best: 9,500\/s \(put-256, HTTP, p99 90\.0ms; etcd's p99 at that concurrency 100\.0ms\): \*\*1\.58x\*\*, p99 equal or better/);
  t.regex(md, /put-1: 0\.40x \(tetcd 400\/s WS/);
  t.regex(md, /\*\*not met\*\*: 3-member durable puts .*\*\*1\.10x\*\*/);
  t.regex(md, /\*\*not measured\*\*: watch fan-out at 100,000 watchers/);
});

test('Targets: a faster tetcd put with a worse p99 does not meet the single-member target', (t) => {
  const md = renderResults(reportOf([putRun('etcd', 1, 'put-64', 'best', 5_000, 10_000), putRun('tetcd', 1, 'put-64', 'best', 10_000, 20_000)]));
  t.regex(md, /\*\*not met\*\*: single-member durable puts .*\*\*2\.00x\*\*, p99 worse/);
});

test('the leader is the member whose status names itself as leader', async (t) => {
  const { leaderClientUrl } = await import('../../bench/compare/cluster.js');
  const http = await import('node:http');
  const servers = ['1', '2', '3'].map((id) =>
    http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        t.is(req.url, '/v3/maintenance/status');
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ header: { member_id: id }, leader: '2' }));
      });
    }),
  );
  try {
    const urls = await Promise.all(
      servers.map(
        (s) =>
          new Promise<string>((resolve) =>
            s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as import('node:net').AddressInfo).port}`)),
          ),
      ),
    );
    t.is(await leaderClientUrl(urls), urls[1]);
    t.is(await leaderClientUrl([urls[0]!, urls[2]!], 300), undefined);
  } finally {
    for (const s of servers) s.close();
  }
});

test('wrk rounds: the median rate and p99 of each server, and the median of the per-round ratios', (t) => {
  const r = (label: string, requestsPerSecond: number, p99Us: number): WrkResult => ({ label, url: 'u', requestsPerSecond, p50Us: 1, p99Us, errors: 0, command: 'wrk' });
  const summary = summarizeRounds([
    [r('etcd', 6000, 25_000), r('tetcd', 13_000, 20_000)],
    [r('etcd', 5000, 30_000), r('tetcd', 9_000, 26_000)],
    [r('etcd', 6500, 22_000), r('tetcd', 14_000, 21_000)],
  ]);
  t.deepEqual(summary.a, { rate: 6000, p99Us: 25_000 });
  t.deepEqual(summary.b, { rate: 13_000, p99Us: 21_000 });
  t.deepEqual(summary.ratios.map((x) => Number(x.toFixed(3))), [2.167, 1.8, 2.154]);
  t.is(Number(summary.ratio.toFixed(3)), 2.154);
});
