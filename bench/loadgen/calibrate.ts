// Calibration: runs the generator's put path over HTTP/1.1 and over WebSocket against the trivial uWS endpoint of
// calibration-server.ts in a child process, and reports the figures beside that process's CPU. A benchmark result
// close to these rates says more about the generator than about the server under test.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ServerStartError } from './errors.js';
import { sampleProcess } from './proc-stats.js';
import { runLoad, type RunResult } from './runner.js';
import type { DriverKind } from './drivers/types.js';
import type { RunOptions } from './workload.js';

export interface CalibrationResult extends RunResult {
  /** CPU of the calibration server during the run, in cores. */
  serverCores: number;
}

export interface CalibrationServer {
  url: string;
  grpcUrl: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts the trivial uWS endpoint in a child process on a free loopback port. */
export function startCalibrationServer(): Promise<CalibrationServer> {
  const script = fileURLToPath(new URL('./calibration-server.js', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [script, '0', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ServerStartError('calibration server did not start within 10 s'));
    }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new ServerStartError(`calibration server exited with ${code}`));
    });
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString();
      const match = /listening (\d+) (\d+)/.exec(out);
      if (match === null) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        url: `http://127.0.0.1:${match[1]}`,
        grpcUrl: `http://127.0.0.1:${match[2]}`,
        pid: child.pid!,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

/** Put runs against the calibration endpoints with each driver, using the given client/connection/worker shape. */
export async function runCalibration(base: RunOptions, drivers: DriverKind[] = ['http', 'ws', 'grpc', 'grpc-h2']): Promise<CalibrationResult[]> {
  const server = await startCalibrationServer();
  try {
    const results: CalibrationResult[] = [];
    for (const driver of drivers) {
      const options: RunOptions = { ...base, driver, endpoints: [driver === 'grpc' || driver === 'grpc-h2' ? server.grpcUrl : server.url] };
      if (options.total === 10_000 && options.durationMs === 0) {
        options.total = 0;
        options.durationMs = 5_000;
        options.warmupMs = 1_000;
      }
      const before = sampleProcess(server.pid);
      const result = await runLoad(options);
      const after = sampleProcess(server.pid);
      const serverCores = before !== undefined && after !== undefined ? (after.cpuSeconds - before.cpuSeconds) / ((after.atMs - before.atMs) / 1000) : 0;
      results.push({ ...result, serverCores });
    }
    return results;
  } finally {
    await server.stop();
  }
}
