// What every benchmark records about the machine and how it reads its BENCH_* settings.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';

export function envNumber(name: string, fallback: number, lo: number, hi: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < lo || v > hi) throw new Error(`${name} must be a number in [${lo}, ${hi}]`);
  return v;
}

export function tryText(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    // mosquitto -h exits non-zero but still prints its version.
    const e = err as { stdout?: string };
    return typeof e.stdout === 'string' ? e.stdout.trim() : '';
  }
}

export function machineInfo(repoRoot: string): Record<string, unknown> {
  const aedesPkg = JSON.parse(
    readFileSync(join(repoRoot, 'node_modules', 'aedes', 'package.json'), 'utf8'),
  ) as {
    version: string;
  };
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    kernel: release(),
    memoryMiB: Math.round(totalmem() / 1048576),
    node: process.version,
    mosquitto: tryText('mosquitto', ['-h']).split('\n')[0] ?? '',
    aedes: aedesPkg.version,
    culexCommit: tryText('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']),
    loadavgAtStart: loadavg(),
  };
}
