// `system health_monitoring ...` and `diag health`: the node's own checks
// (disk, load, memory) against thresholds kept as settings; monitoring runs
// them every N minutes in platformd and the banner shows the result.

import { checkHealth, DEFAULT_INTERVAL_MINUTES, INTERVAL_KEY, MONITORING_KEY, monitorOnce, saveLast, setThreshold, THRESHOLD_SETTINGS, thresholds } from '../health/checks.js';
import { choice, integer } from '../core/argtypes.js';
import { json } from '../core/json-shape.js';
import { reply } from '../core/reply.js';
import { defineCommand, type Command } from '../core/command.js';

const monitoring: Command[] = [
  defineCommand({
    words: ['system', 'health_monitoring', 'enable'],
    summary: `Check the node's health every <minutes> (default ${DEFAULT_INTERVAL_MINUTES}); the banner shows the result`,
    args: [{ name: 'minutes', type: integer('<minutes>', 1, 1440), optional: true }],
    json: json.object({ monitored: json.boolean(), intervalMinutes: json.integer(), problems: json.array(json.string()) }),
    run(ctx, args) {
      const minutes = args.minutes ?? DEFAULT_INTERVAL_MINUTES;
      ctx.store.tx(() => {
        ctx.store.settings.set(MONITORING_KEY, true);
        ctx.store.settings.set(INTERVAL_KEY, minutes);
      });
      const result = monitorOnce(ctx.store, ctx.paths);
      return reply.tree({ 'health monitoring': `every ${minutes} minutes`, problems: result.problems.length ? result.problems : 'none' }, { monitored: true, intervalMinutes: minutes, problems: result.problems });
    },
  }),
  defineCommand({
    words: ['system', 'health_monitoring', 'disable'],
    summary: 'Stop checking the node health',
    json: json.object({ monitored: json.boolean() }),
    run(ctx) {
      ctx.store.settings.set(MONITORING_KEY, false);
      return reply.tree({ 'health monitoring': 'off' }, { monitored: false });
    },
  }),
  defineCommand({
    words: ['system', 'health_monitoring', 'threshold'],
    summary: 'Show the thresholds, or set one: disk_root|disk_data|disk_logs|memory (% free), load (per CPU)',
    args: [
      { name: 'name', type: choice('<threshold>', Object.keys(THRESHOLD_SETTINGS)), optional: true },
      { name: 'value', type: integer('<value>', 1, 100), optional: true },
    ],
    json: json.object({ diskRootFreePercent: json.number(), diskDataFreePercent: json.number(), diskLogsFreePercent: json.number(), memoryFreePercent: json.number(), loadPerCpu: json.number() }),
    run(ctx, args) {
      if (args.name !== undefined && args.value !== undefined) {
        const setting = THRESHOLD_SETTINGS[args.name]!;
        const value = Math.min(setting.max, Math.max(setting.min, args.value));
        setThreshold(ctx.store, setting.key, value);
      }
      const t = thresholds(ctx.store);
      return reply.tree(
        { disk_root: `${t.rootFreePercent}% free`, disk_data: `${t.dataFreePercent}% free`, disk_logs: `${t.logsFreePercent}% free`, memory: `${t.memoryFreePercent}% free`, load: `${t.loadPerCpu} per CPU` },
        { diskRootFreePercent: t.rootFreePercent, diskDataFreePercent: t.dataFreePercent, diskLogsFreePercent: t.logsFreePercent, memoryFreePercent: t.memoryFreePercent, loadPerCpu: t.loadPerCpu },
      );
    },
  }),
];

export const diagHealth = defineCommand({
  words: ['diag', 'health'],
  summary: 'Check disk space, memory and load against the health thresholds',
  json: json.object({ at: json.time(), checks: json.array(json.object({ check: json.string(), value: json.string(), limit: json.string(), ok: json.boolean() })), problems: json.array(json.string()) }),
  run(ctx) {
    const result = checkHealth(ctx.paths, thresholds(ctx.store));
    saveLast(ctx.store, result);
    return reply.blocks(
      [{ kind: 'table', columns: ['check', 'value', 'threshold', 'state'], rows: result.checks.map((c) => [c.check, c.value, c.limit, c.problem ? 'PROBLEM' : 'ok']) }],
      { at: result.at, checks: result.checks.map((c) => ({ check: c.check, value: c.value, limit: c.limit, ok: !c.problem })), problems: result.problems },
      result.problems.length ? 1 : 0,
    );
  },
});

export const healthMonitoringCommands = monitoring;
