/**
 * Is anything else using the CPU? Benchmarks on a shared machine are only worth recording when
 * it is quiet, so the harness samples /proc/stat over about a second before each round.
 *
 * The first line of /proc/stat counts, for all CPUs together, the time spent in each state:
 *   user nice system idle iowait irq softirq steal guest guest_nice
 * Busy = user + nice + system + irq + softirq (guest time is already inside user). Steal (time
 * the hypervisor gave to other machines) is reported apart: waiting does not make it go away.
 * busyCores = busy share of all the time counted x number of CPUs, so 1.0 is one core fully used.
 * The harness itself sleeps while it samples, so what it sees is other processes.
 */

import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { sampleUntil } from './sample-until.ts';

export interface CpuLoadSample {
  busyCores: number;
  stealCores: number;
  cpus: number;
  seconds: number;
}

interface CpuTimes {
  busy: number;
  steal: number;
  total: number;
  cpus: number;
}

function readCpuTimes(): CpuTimes | null {
  let stat: string;
  try {
    stat = fs.readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  const lines = stat.split('\n');
  const fields = lines[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const cpus = lines.filter((line) => /^cpu\d+\s/.test(line)).length;
  return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal, cpus };
}

/** CPU use by everything on the machine over `ms`; null where /proc/stat does not exist. */
export async function sampleCpuLoad(ms = 1000): Promise<CpuLoadSample | null> {
  const before = readCpuTimes();
  const start = performance.now();
  await sleep(ms);
  const after = readCpuTimes();
  if (before === null || after === null) return null;
  const total = after.total - before.total;
  if (total <= 0) return { busyCores: 0, stealCores: 0, cpus: after.cpus, seconds: ms / 1000 };
  return {
    busyCores: ((after.busy - before.busy) / total) * after.cpus,
    stealCores: ((after.steal - before.steal) / total) * after.cpus,
    cpus: after.cpus,
    seconds: (performance.now() - start) / 1000,
  };
}

export interface QuietCheck {
  quiet: boolean;
  /** The last sample (null: load could not be measured on this system). */
  sample: CpuLoadSample | null;
  attempts: number;
}

/**
 * Samples until the CPU is quiet (busyCores <= maxBusyCores) or `attempts` samples were busy,
 * waiting `waitMs` between them. `attempts: 1` checks once without waiting.
 */
export async function waitForQuietCpu(options: {
  maxBusyCores: number;
  attempts: number;
  waitMs: number;
  onBusy?: (sample: CpuLoadSample, attempt: number) => void;
}): Promise<QuietCheck> {
  const result = await sampleUntil({
    sample: () => sampleCpuLoad(),
    // No sample (no /proc/stat): nothing to wait for.
    good: (sample) => sample === null || sample.busyCores <= options.maxBusyCores,
    attempts: options.attempts,
    waitMs: options.waitMs,
    onBad: (sample, attempt) => options.onBusy?.(sample!, attempt), // a bad sample is never null
  });
  return { quiet: result.good, sample: result.sample, attempts: result.attempts };
}
