/**
 * A description of the machine a benchmark ran on, for the results file: CPU model (from
 * /proc/cpuinfo on Linux, else what Node reports), logical CPUs, memory, OS and Node version.
 */

import fs from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  logicalCpus: number;
  memoryGb: number;
  os: string;
  node: string;
}

export function describeMachine(): MachineInfo {
  return {
    cpuModel: cpuModel(),
    logicalCpus: os.availableParallelism?.() ?? os.cpus().length,
    memoryGb: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

/** One line for a results file: CPU model, logical CPUs, memory and OS (Node apart). */
export function machineSummary(machine: MachineInfo): string {
  return `${machine.cpuModel}, ${machine.logicalCpus} logical CPUs, ${machine.memoryGb.toFixed(1)} GB RAM, ${machine.os}`;
}

function cpuModel(): string {
  try {
    const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const match = /^model name\s*:\s*(.+)$/m.exec(cpuinfo);
    if (match) return match[1]!.trim();
  } catch {
    // Not Linux: fall through to Node's view.
  }
  return os.cpus()[0]?.model ?? 'unknown CPU';
}
