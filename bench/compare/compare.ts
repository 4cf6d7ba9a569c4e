// `make bench-compare`: etcd and tetcd side by side on this machine. For each cluster size (1 and 3 members) and each
// round, it starts a fresh cluster of each server in turn (A, B, A, B: noise that drifts over time hits both), runs
// every workload on each server's fastest client path and on the JSON path both share, samples the members' CPU and
// RSS from /proc while each run lasts, and writes bench/RESULTS.md. A server that cannot run here (tetcd before its
// key-value server exists) gets "n/a" columns and the reason. The whole run stays inside a time budget: runs that
// would start after it are listed as skipped.
//
//   node dist/bench/compare/compare.js [--duration 2] [--warmup 1] [--rounds 2] [--clusters 1,3]
//        [--servers etcd,tetcd] [--workloads put-1,put-64,...] [--budget-minutes 16] [--out bench/RESULTS.md]
// Each flag also reads from the environment: BENCH_DURATION, BENCH_WARMUP, BENCH_ROUNDS, BENCH_CLUSTERS,
// BENCH_SERVERS, BENCH_WORKLOADS, BENCH_BUDGET_MINUTES, BENCH_OUT.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCalibration, type CalibrationResult } from '../loadgen/calibrate.js';
import { commandFor } from '../loadgen/cli.js';
import { UsageError } from '../loadgen/errors.js';
import { formatResult } from '../loadgen/format.js';
import { HttpConnection, postRequest } from '../loadgen/http1.js';
import { describeMachine, sampleProcesses } from '../loadgen/proc-stats.js';
import { runLoad, type RunResult } from '../loadgen/runner.js';
import type { RunOptions } from '../loadgen/workload.js';
import { leaderClientUrl, startCluster, type RunningCluster } from './cluster.js';
import { compareWorkloads, type CompareWorkload } from './matrix.js';
import { renderResults } from './results-md.js';
import { repoRoot, servers, type ServerDefinition } from './servers.js';

export type PathKind = 'best' | 'json';

export interface CompareSettings {
  durationMs: number;
  warmupMs: number;
  rounds: number;
  clusterSizes: number[];
  serverNames: string[];
  workloadIds: string[] | undefined;
  budgetMs: number;
  out: string;
}

export interface ServerFigures {
  /** Members' CPU over the run, in cores (all members together). */
  cores: number;
  /** Highest RSS of all members together seen during the run. */
  rssMaxBytes: number;
  /** RSS of all members together just before the run. */
  rssBeforeBytes: number;
}

export interface Measurement {
  server: string;
  clusterSize: number;
  round: number;
  workload: CompareWorkload;
  path: PathKind;
  command: string;
  result?: RunResult;
  figures?: ServerFigures;
  /** Why there is no result: the run failed, the server is unavailable, or the budget ran out. */
  missing?: string;
}

export interface CompareReport {
  settings: CompareSettings;
  machine: string;
  /** 1-minute load average when the run started and when it ended (other work on the machine skews figures). */
  loadAverage: [start: number, end: number];
  startedAt: string;
  elapsedSeconds: number;
  gitCommit: string;
  calibration: CalibrationResult[];
  calibrationCommands: string[];
  unavailable: Map<string, string>;
  measurements: Measurement[];
  /** Exact member command lines, by server and cluster size (from the first round). */
  serverCommands: Map<string, string[]>;
}

function flag(argv: string[], name: string, env: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) {
    const v = argv[i + 1];
    if (v === undefined) throw new UsageError(`--${name} needs a value`);
    return v;
  }
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  if (eq !== undefined) return eq.slice(name.length + 3);
  return process.env[env] ?? fallback;
}

function positiveNumber(text: string, name: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`${name} must be a positive number, got ${JSON.stringify(text)}`);
  return v;
}

export function parseSettings(argv: string[]): CompareSettings {
  const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const workloads = flag(argv, 'workloads', 'BENCH_WORKLOADS', '');
  const settings: CompareSettings = {
    durationMs: positiveNumber(flag(argv, 'duration', 'BENCH_DURATION', '2'), '--duration') * 1000,
    warmupMs: Number(flag(argv, 'warmup', 'BENCH_WARMUP', '1')) * 1000,
    rounds: Math.round(positiveNumber(flag(argv, 'rounds', 'BENCH_ROUNDS', '2'), '--rounds')),
    clusterSizes: list(flag(argv, 'clusters', 'BENCH_CLUSTERS', '1,3')).map((s) => Math.round(positiveNumber(s, '--clusters'))),
    serverNames: list(flag(argv, 'servers', 'BENCH_SERVERS', 'etcd,tetcd')),
    workloadIds: workloads === '' ? undefined : list(workloads),
    budgetMs: positiveNumber(flag(argv, 'budget-minutes', 'BENCH_BUDGET_MINUTES', '16'), '--budget-minutes') * 60_000,
    out: flag(argv, 'out', 'BENCH_OUT', 'bench/RESULTS.md'),
  };
  for (const name of settings.serverNames) if (servers[name] === undefined) throw new UsageError(`unknown server ${name} (known: ${Object.keys(servers).join(', ')})`);
  for (const id of settings.workloadIds ?? []) if (!compareWorkloads.some((w) => w.id === id)) throw new UsageError(`unknown workload ${id} (known: ${compareWorkloads.map((w) => w.id).join(', ')})`);
  if (!Number.isFinite(settings.warmupMs) || settings.warmupMs < 0) throw new UsageError('--warmup must be zero or more seconds');
  return settings;
}

function workloadsFor(settings: CompareSettings, clusterSize: number): CompareWorkload[] {
  if (settings.workloadIds !== undefined) return compareWorkloads.filter((w) => settings.workloadIds!.includes(w.id));
  return compareWorkloads.filter((w) => w.clusterSizes.includes(clusterSize));
}

/** Puts one key over the JSON route of the first member (ranges need something to read). */
async function presetKey(clientUrl: string, key: string): Promise<void> {
  const u = new URL(clientUrl);
  const c = await HttpConnection.connect(u.hostname, Number(u.port));
  try {
    await new Promise<void>((resolve, reject) => {
      let status = 0;
      c.send(postRequest('/v3/kv/put', c.hostHeader, JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.alloc(256, 0x72).toString('base64') })), {
        head: (h) => {
          status = h.status;
        },
        data: () => {},
        end: () => (status === 200 ? resolve() : reject(new Error(`preset put answered HTTP ${status}`))),
        fail: reject,
      });
    });
  } finally {
    c.close();
  }
}

/** Samples the members every 200 ms while `work` runs. */
async function withServerSampling<T>(pids: number[], work: () => Promise<T>): Promise<{ value: T; figures: ServerFigures }> {
  const before = sampleProcesses(pids);
  const t0 = performance.now();
  let rssMax = before.rssBytes;
  const timer = setInterval(() => {
    rssMax = Math.max(rssMax, sampleProcesses(pids).rssBytes);
  }, 200);
  try {
    const value = await work();
    const after = sampleProcesses(pids);
    rssMax = Math.max(rssMax, after.rssBytes);
    const seconds = (performance.now() - t0) / 1000;
    return { value, figures: { cores: seconds > 0 ? (after.cpuSeconds - before.cpuSeconds) / seconds : 0, rssMaxBytes: rssMax, rssBeforeBytes: before.rssBytes } };
  } finally {
    clearInterval(timer);
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function log(line: string): void {
  process.stderr.write(`[bench-compare] ${line}\n`);
}

export async function runCompare(settings: CompareSettings): Promise<CompareReport> {
  const started = performance.now();
  const deadline = started + settings.budgetMs;
  const report: CompareReport = {
    settings,
    machine: describeMachine(),
    loadAverage: [os.loadavg()[0]!, 0],
    startedAt: new Date().toISOString(),
    elapsedSeconds: 0,
    gitCommit: gitCommit(),
    calibration: [],
    calibrationCommands: [],
    unavailable: new Map(),
    measurements: [],
    serverCommands: new Map(),
  };
  const defs: ServerDefinition[] = settings.serverNames.map((n) => servers[n]!);
  for (const d of defs) {
    const reason = d.unavailable();
    if (reason !== undefined) report.unavailable.set(d.name, reason);
  }

  // the generator's own ceiling, with the shape of the 64-client runs
  log('calibrating the generator against a trivial endpoint');
  const calibrationShape: RunOptions = { driver: 'http', endpoints: [], connections: 8, clients: 64, workers: 2, total: 0, durationMs: settings.durationMs, warmupMs: Math.min(settings.warmupMs, 1000), rate: 0, workload: { type: 'put', keySizeBytes: 8, valueSizeBytes: 256, keySpaceSize: 100_000, sequentialKeys: false } };
  // http as on the JSON path (a connection per client slot); the multiplexing drivers over 8 connections
  report.calibration = [...(await runCalibration({ ...calibrationShape, connections: 64 }, ['http'])), ...(await runCalibration(calibrationShape, ['ws', 'grpc', 'grpc-h2']))];
  const calibrationFlags = `--clients 64 --workers 2 --key-size 8 --val-size 256 --key-space-size 100000 --duration ${settings.durationMs / 1000} --warmup ${calibrationShape.warmupMs / 1000}`;
  report.calibrationCommands = [`node dist/bench/loadgen/cli.js calibrate --conns 64 ${calibrationFlags}   # http row`, `node dist/bench/loadgen/cli.js calibrate --conns 8 ${calibrationFlags}   # ws, grpc, grpc-h2 rows`];
  for (const c of report.calibration) log(formatResult(c).split('\n').slice(1, 3).join(' |'));

  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tetcd-bench-compare-'));
  try {
    for (const size of settings.clusterSizes) {
      const workloads = workloadsFor(settings, size);
      for (let round = 1; round <= settings.rounds; round++) {
        for (const def of defs) {
          const paths: [PathKind, RunOptions['driver']][] = [
            ['best', def.drivers.best],
            ['json', def.drivers.json],
          ];
          const record = (workload: CompareWorkload, pathKind: PathKind, command: string, missing: string): void => {
            report.measurements.push({ server: def.name, clusterSize: size, round, workload, path: pathKind, command, missing });
          };
          const unavailable = report.unavailable.get(def.name);
          if (unavailable !== undefined || performance.now() > deadline) {
            for (const w of workloads) for (const [p] of paths) if (w.paths === undefined || w.paths.includes(p)) record(w, p, '', unavailable ?? 'skipped: time budget spent');
            continue;
          }
          const label = `${def.name}-${size}m-r${round}`;
          log(`starting ${label}`);
          let cluster: RunningCluster;
          try {
            cluster = await startCluster(def, size, baseDir, label);
          } catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            log(`${label}: ${reason}`);
            if (round === 1) report.unavailable.set(def.name, reason.replace(baseDir, '<tmp>'));
            for (const w of workloads) for (const [p] of paths) if (w.paths === undefined || w.paths.includes(p)) record(w, p, '', `n/a: ${def.name} did not start`);
            continue;
          }
          if (!report.serverCommands.has(`${def.name} ${size}`)) report.serverCommands.set(`${def.name} ${size}`, cluster.members.map((m) => m.commandLine.replace(baseDir, '<tmp>').replaceAll(`${repoRoot}/`, '')));
          try {
            for (const workload of workloads) {
              if (workload.presetKey !== undefined) await presetKey(cluster.clientUrls[0]!, workload.presetKey);
              let endpoints = cluster.clientUrls;
              if (workload.toLeader === true && size > 1) {
                const leader = await leaderClientUrl(cluster.clientUrls);
                if (leader === undefined) log(`${label} ${workload.id}: no member says it leads; the load goes to every member`);
                else endpoints = [leader];
              }
              for (const [pathKind, driver] of paths) {
                if (workload.paths !== undefined && !workload.paths.includes(pathKind)) continue;
                const options: RunOptions = { ...workload.shape({ durationMs: settings.durationMs, warmupMs: settings.warmupMs }), driver, endpoints };
                // HTTP/1.1 servers (Go's included) answer a connection's pipelined requests one after another: on the
                // JSON path every client slot gets its own connection, as wrk's connections do
                if (driver === 'http') options.connections = Math.max(options.connections, options.clients);
                const command = commandFor(options);
                if (performance.now() > deadline) {
                  record(workload, pathKind, command, 'skipped: time budget spent');
                  continue;
                }
                try {
                  const { value: result, figures } = await withServerSampling(cluster.pids, () => runLoad(options));
                  report.measurements.push({ server: def.name, clusterSize: size, round, workload, path: pathKind, command, result, figures });
                  const rate = result.watch !== undefined ? `${Math.round(result.watch.eventsPerSecond)} events/s` : `${Math.round(result.throughput)}/s`;
                  log(`${label} ${workload.id} ${driver}: ${rate}, p99 ${Math.round((result.watch?.eventLatency ?? result.latency).p99Us)} us, errors ${result.errors}, server ${figures.cores.toFixed(2)} cores`);
                } catch (error) {
                  const reason = error instanceof Error ? error.message : String(error);
                  log(`${label} ${workload.id} ${driver}: failed: ${reason}`);
                  record(workload, pathKind, command, `failed: ${reason}`);
                }
              }
            }
          } finally {
            await cluster.stop();
          }
        }
      }
    }
  } finally {
    fs.rmSync(baseDir, { recursive: true, force: true });
  }
  report.elapsedSeconds = (performance.now() - started) / 1000;
  report.loadAverage[1] = os.loadavg()[0]!;
  return report;
}

export async function main(argv: string[]): Promise<number> {
  let settings: CompareSettings;
  try {
    settings = parseSettings(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`bench-compare: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const report = await runCompare(settings);
  fs.mkdirSync(path.dirname(settings.out), { recursive: true });
  fs.writeFileSync(settings.out, renderResults(report));
  log(`wrote ${settings.out} in ${report.elapsedSeconds.toFixed(0)} s`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
