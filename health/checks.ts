// Health monitoring: the node's free disk (/, the data folder, the logs),
// load and memory against thresholds kept as settings, with the reference
// appliance's defaults for the disks (30 %, 30 %, 10 % free). The last
// result is kept in the store for the banner.

import { statfsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import type { Store } from '../store/db.js';
import { SETTINGS, THRESHOLD_RANGES, type HealthCheck, type HealthResult, type SettingKey, type Thresholds } from '../store/settings.js';
import type { Paths } from '../core/paths.js';

// Thresholds and results are settings of the store, whose table declares their shapes.

export const DEFAULT_THRESHOLDS: Thresholds = { rootFreePercent: 30, dataFreePercent: 30, logsFreePercent: 10, memoryFreePercent: 10, loadPerCpu: 2 };

/** The settings `system health_monitoring threshold <name> <value>` changes, with their bounds. */
export const THRESHOLD_SETTINGS: Record<string, { key: keyof Thresholds; min: number; max: number }> = {
  disk_root: { key: 'rootFreePercent', min: THRESHOLD_RANGES.rootFreePercent[0], max: THRESHOLD_RANGES.rootFreePercent[1] },
  disk_data: { key: 'dataFreePercent', min: THRESHOLD_RANGES.dataFreePercent[0], max: THRESHOLD_RANGES.dataFreePercent[1] },
  disk_logs: { key: 'logsFreePercent', min: THRESHOLD_RANGES.logsFreePercent[0], max: THRESHOLD_RANGES.logsFreePercent[1] },
  memory: { key: 'memoryFreePercent', min: THRESHOLD_RANGES.memoryFreePercent[0], max: THRESHOLD_RANGES.memoryFreePercent[1] },
  load: { key: 'loadPerCpu', min: THRESHOLD_RANGES.loadPerCpu[0], max: THRESHOLD_RANGES.loadPerCpu[1] },
};

export const MONITORING_KEY = 'health.monitoring' satisfies SettingKey;
export const INTERVAL_KEY = 'health.intervalMinutes' satisfies SettingKey;
export const DEFAULT_INTERVAL_MINUTES = SETTINGS[INTERVAL_KEY].fallback;

export function thresholds(store: Store): Thresholds {
  return { ...DEFAULT_THRESHOLDS, ...store.settings.get('health.thresholds') };
}

export function setThreshold(store: Store, key: keyof Thresholds, value: number): void {
  store.tx(() => store.settings.set('health.thresholds', { ...store.settings.get('health.thresholds'), [key]: value }));
}

function freePercent(path: string): number | undefined {
  try {
    const stats = statfsSync(path);
    return Math.floor((stats.bavail / stats.blocks) * 100);
  } catch {
    return undefined;
  }
}

/** MemAvailable over MemTotal, as the kernel counts what can be had without swapping. */
function memoryFreePercent(): number | undefined {
  try {
    const info = readFileSync('/proc/meminfo', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(info)?.[1]);
    const total = field('MemTotal');
    const available = field('MemAvailable');
    return total > 0 && available >= 0 ? Math.floor((available / total) * 100) : undefined;
  } catch {
    return undefined;
  }
}

export function checkHealth(paths: Paths, limits: Thresholds, now = new Date()): HealthResult {
  const checks: HealthCheck[] = [];
  const disk = (label: string, path: string, min: number) => {
    const free = freePercent(path);
    if (free === undefined) return;
    checks.push({ check: `disk ${label} (${path})`, value: `${free}% free`, limit: `${min}% free`, ...(free < min ? { problem: `low disk ${path} ${free}% free` } : {}) });
  };
  disk('/', '/', limits.rootFreePercent);
  disk('data', paths.home, limits.dataFreePercent);
  disk('logs', paths.logs, limits.logsFreePercent);
  const memory = memoryFreePercent();
  if (memory !== undefined) checks.push({ check: 'memory', value: `${memory}% free`, limit: `${limits.memoryFreePercent}% free`, ...(memory < limits.memoryFreePercent ? { problem: `low memory ${memory}% free` } : {}) });
  const cpus = availableParallelism();
  const load = loadavg()[0] ?? 0;
  const maxLoad = limits.loadPerCpu * cpus;
  checks.push({ check: 'load', value: load.toFixed(2), limit: `${maxLoad.toFixed(2)} (${limits.loadPerCpu} per CPU)`, ...(load > maxLoad ? { problem: `high load ${load.toFixed(2)}` } : {}) });
  return { at: now.toISOString(), checks, problems: checks.flatMap((c) => (c.problem ? [c.problem] : [])) };
}

export function saveLast(store: Store, result: HealthResult): void {
  store.settings.set('health.last', result);
}

export function lastResult(store: Store): HealthResult | undefined {
  return store.settings.get('health.last');
}

/** One monitored check: runs and records it. */
export function monitorOnce(store: Store, paths: Paths, now = new Date()): HealthResult {
  const result = checkHealth(paths, thresholds(store), now);
  saveLast(store, result);
  return result;
}
