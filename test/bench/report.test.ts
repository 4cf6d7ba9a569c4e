// Histograms (recording, merging across workers through their encoded form, percentiles), the report's formatting,
// the put-to-event timestamps, and the JSON stream scanning the watch and keep-alive drivers rely on.
import test from 'ava';
import { scanKeepAliveMessage, scanWatchMessage } from '../../bench/loadgen/drivers/json-scan.js';
import type { WatchSink } from '../../bench/loadgen/drivers/types.js';
import { ServerError } from '../../bench/loadgen/errors.js';
import { formatLatency, formatRate, formatResult, formatUs } from '../../bench/loadgen/format.js';
import { createHistogram, encodeHistogram, mergeEncoded, recordUs, summarize } from '../../bench/loadgen/histogram.js';
import type { RunResult } from '../../bench/loadgen/runner.js';
import { readStamp, readStampBase64, stampedValue } from '../../bench/loadgen/stamp.js';
import { keyFor, prefixEnd, share } from '../../bench/loadgen/workload.js';

test('percentiles of a known distribution (within the histogram precision of 3 digits)', (t) => {
  const h = createHistogram();
  for (let v = 1; v <= 10_000; v++) recordUs(h, v);
  const s = summarize(h);
  t.is(s.count, 10_000);
  t.true(Math.abs(s.p50Us - 5_000) <= 5);
  t.true(Math.abs(s.p90Us - 9_000) <= 9);
  t.true(Math.abs(s.p99Us - 9_900) <= 10);
  t.true(Math.abs(s.p999Us - 9_990) <= 10);
  t.true(Math.abs(s.maxUs - 10_000) <= 10);
  t.true(Math.abs(s.meanUs - 5_000.5) < 5);
});

test('worker histograms merge through their encoded form', (t) => {
  const a = createHistogram();
  const b = createHistogram();
  for (let i = 0; i < 900; i++) recordUs(a, 100);
  for (let i = 0; i < 100; i++) recordUs(b, 50_000);
  const merged = summarize(mergeEncoded([encodeHistogram(a), encodeHistogram(b)]));
  t.is(merged.count, 1000);
  t.true(Math.abs(merged.p50Us - 100) <= 1);
  t.true(Math.abs(merged.p99Us - 50_000) <= 50);
  t.is(summarize(mergeEncoded([])).count, 0);
});

test('latencies below 1 us and beyond the tracked range are clamped, not lost', (t) => {
  const h = createHistogram();
  recordUs(h, 0.2);
  recordUs(h, 1e12);
  t.is(h.totalCount, 2);
});

test('durations and rates read well', (t) => {
  t.is(formatUs(850), '850us');
  t.is(formatUs(1234), '1.23ms');
  t.is(formatUs(12_345), '12.3ms');
  t.is(formatUs(1_200_000), '1.20s');
  t.is(formatRate(22_431.6), '22,432');
  t.is(formatRate(12.34), '12.3');
  t.is(formatLatency(summarize(createHistogram())), 'no samples');
});

test('a run report names the workload, driver, throughput, percentiles, errors and generator CPU', (t) => {
  const h = createHistogram();
  for (let i = 0; i < 100; i++) recordUs(h, 1000 + i);
  const result: RunResult = {
    options: {
      driver: 'grpc',
      endpoints: ['http://127.0.0.1:2379'],
      connections: 8,
      clients: 64,
      workers: 2,
      total: 100,
      durationMs: 0,
      warmupMs: 0,
      rate: 0,
      workload: { type: 'put', keySizeBytes: 8, valueSizeBytes: 256, keySpaceSize: 1000, sequentialKeys: false },
    },
    ok: 100,
    errors: 2,
    errorSamples: ['etcdserver: too many requests'],
    elapsedSeconds: 0.5,
    throughput: 200,
    latency: summarize(h),
    cpu: { processCores: 0.5, workerCores: [0.2, 0.25], mainCores: 0.01, usPerOperation: 2500 },
  };
  const text = formatResult(result);
  t.regex(text, /^put key 8 B, value 256 B, random keys over 1000/);
  t.regex(text, /driver grpc -> http:\/\/127\.0\.0\.1:2379; 64 client\(s\) over 8 connection\(s\), 2 worker thread\(s\)/);
  t.regex(text, /requests\s+100 in 0\.50 s = 200\/s, errors 2/);
  t.regex(text, /p50 1\.05ms\s+p90 1\.09ms\s+p99 1\.10ms\s+p99\.9 1\.10ms\s+max 1\.10ms/);
  t.regex(text, /error samples: etcdserver: too many requests/);
  t.regex(text, /generator\s+CPU 0\.50 cores \(workers 0\.20\+0\.25, main 0\.01\), 2500\.0 us per request/);
});

test('stamped values carry their send time, raw and in base64', (t) => {
  const v = stampedValue(32);
  t.is(v.length, 32);
  const stamp = readStamp(v);
  t.true(Number.isSafeInteger(stamp) && stamp > 0);
  const b64 = Buffer.from(v.toString('base64'));
  t.is(readStampBase64(b64, 0, b64.length), stamp);
  t.true(Number.isNaN(readStamp(Buffer.from('not a stamp at all'))));
  t.is(stampedValue(4).length, 16);
});

test('keys, prefixes and shares', (t) => {
  t.is(keyFor(42, 8).toString(), '00000042');
  t.is(keyFor(123456789, 4).toString(), '6789');
  t.deepEqual(prefixEnd(Buffer.from('abc')), Buffer.from('abd'));
  t.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  t.deepEqual(prefixEnd(Buffer.from([0xff])), Buffer.from([0]));
  t.deepEqual([0, 1, 2].map((i) => share(10, i, 3)), [4, 3, 3]);
  t.deepEqual([0, 1, 2].map((i) => share(1, i, 3)), [1, 0, 0]);
});

function watchSink() {
  const seen = { created: 0, events: [] as number[], errors: [] as Error[] };
  const sink: WatchSink = {
    created: () => seen.created++,
    event: (us) => seen.events.push(us),
    failed: (e) => seen.errors.push(e),
  };
  return { seen, sink };
}

test('watch stream messages from etcd 3.4 gateway output', (t) => {
  const { seen, sink } = watchSink();
  const line = (s: string) => Buffer.from(s);
  const created = line('{"result":{"header":{"cluster_id":"1","member_id":"2","revision":"5","raft_term":"2"},"watch_id":"1","created":true}}');
  scanWatchMessage(created, 0, created.length, sink);
  const value = Buffer.from('0000001234567890xxxxxxxx').toString('base64');
  const events = line(
    `{"result":{"header":{"revision":"6"},"events":[{"kv":{"key":"Zm9v","create_revision":"2","mod_revision":"6","version":"5","value":"${value}"},"prev_kv":{"key":"Zm9v","value":"eA=="}},{"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"7"}}]}}`,
  );
  scanWatchMessage(events, 0, events.length, sink);
  const error = line('{"error":{"grpc_code":1,"http_code":408,"message":"etcdserver: watch canceled","http_status":"Request Timeout"}}');
  scanWatchMessage(error, 0, error.length, sink);
  t.is(seen.created, 1);
  t.is(seen.events.length, 2);
  t.is(seen.events[0], 1234567890);
  t.true(Number.isNaN(seen.events[1]!));
  t.is(seen.errors.length, 1);
  t.true(seen.errors[0] instanceof ServerError);
  t.is((seen.errors[0] as ServerError).code, 1);
  t.is(seen.errors[0]!.message, 'etcdserver: watch canceled');
});

test('keep-alive stream messages: id and TTL; an unknown lease answers TTL 0', (t) => {
  const answers: [string, number][] = [];
  const sink = { answered: (id: string, ttl: number) => answers.push([id, ttl]), failed: () => t.fail() };
  const ok = Buffer.from('{"result":{"header":{"revision":"2"},"ID":"7587869403215389195","TTL":"60"}}');
  const gone = Buffer.from('{"result":{"header":{"revision":"2"},"ID":"7587869403215389195"}}');
  scanKeepAliveMessage(ok, 0, ok.length, sink);
  scanKeepAliveMessage(gone, 0, gone.length, sink);
  t.deepEqual(answers, [
    ['7587869403215389195', 60],
    ['7587869403215389195', 0],
  ]);
});
