// CPU and memory figures from /proc (Linux): the servers' RSS and CPU time (sampled from /proc/<pid>/stat and
// /proc/<pid>/status), and the generator's own per-thread CPU time (/proc/thread-self/schedstat, read on the thread
// itself: Node 20 has no per-thread CPU API, and process.cpuUsage() counts every thread of the process together).
import * as fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux this runs on (getconf CLK_TCK). */
const clockTicksPerSecond = 100;

export interface ProcessSample {
  atMs: number;
  /** user + system CPU time in seconds since the process started */
  cpuSeconds: number;
  rssBytes: number;
  /** peak RSS (VmHWM) */
  rssPeakBytes: number;
  threads: number;
}

/** One sample of a process, or undefined when it is gone. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // the command name (field 2) may hold spaces: split after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
    return {
      atMs: performance.now(),
      cpuSeconds: (utime + stime) / clockTicksPerSecond,
      rssBytes: statusKb(status, 'VmRSS') * 1024,
      rssPeakBytes: statusKb(status, 'VmHWM') * 1024,
      threads: statusKb(status, 'Threads'),
    };
  } catch {
    return undefined;
  }
}

function statusKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status);
  return match === null ? 0 : Number(match[1]);
}

/** CPU time the calling thread has run, in seconds (nanosecond resolution); 0 when schedstat is unavailable. */
export function threadCpuSeconds(): number {
  try {
    const text = fs.readFileSync('/proc/thread-self/schedstat', 'latin1');
    return Number(text.slice(0, text.indexOf(' '))) / 1e9;
  } catch {
    return 0;
  }
}

/** The sum over several processes (a cluster's members). */
export interface ClusterSample {
  cpuSeconds: number;
  rssBytes: number;
  rssPeakBytes: number;
}

export function sampleProcesses(pids: number[]): ClusterSample {
  const out: ClusterSample = { cpuSeconds: 0, rssBytes: 0, rssPeakBytes: 0 };
  for (const pid of pids) {
    const s = sampleProcess(pid);
    if (s === undefined) continue;
    out.cpuSeconds += s.cpuSeconds;
    out.rssBytes += s.rssBytes;
    out.rssPeakBytes += s.rssPeakBytes;
  }
  return out;
}

/** The machine in one line: CPU model and count, memory, kernel, node version. */
export function describeMachine(): string {
  let cpu = 'unknown CPU';
  let cores = 0;
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'latin1');
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu;
    cores = (info.match(/^processor\s*:/gm) ?? []).length;
  } catch {
    /* not Linux */
  }
  let memory = '';
  try {
    const kb = statusKb(fs.readFileSync('/proc/meminfo', 'latin1'), 'MemTotal');
    memory = `, ${(kb / 1024 / 1024).toFixed(1)} GiB RAM`;
  } catch {
    /* not Linux */
  }
  let kernel = '';
  try {
    kernel = `, Linux ${fs.readFileSync('/proc/sys/kernel/osrelease', 'latin1').trim()}`;
  } catch {
    /* not Linux */
  }
  return `${cores} x ${cpu}${memory}${kernel}, node ${process.version}`;
}
