// Once a day at midnight: the daemon rotates its logs folder (the embedded
// default; on an appliance logrotate does, packer/systemd/platform.logrotate) and
// prunes the audit log to its retention (its bound of rows and bytes holds on
// every write, store/audit.ts). Every few seconds, the counts of requests of
// unproven callers that wait in memory are written; the last ones on stopping.

import { auditCutoff, AUDIT_RETENTION_KEY } from '../logs/audit.js';
import { rotateLogs, untilMidnight } from '../logs/rotate.js';
import type { Subsystem } from '../core/runtime.js';

/** How often counts that wait in memory are written when no new request writes them. */
const UNPROVEN_FLUSH_MS = 5000;

export const logsSubsystem: Subsystem = {
  name: 'logs',
  async start(runtime) {
    let timer: NodeJS.Timeout | undefined;
    const flushCounts = () => {
      try {
        runtime.store.audit.flushUnproven();
      } catch (error) {
        runtime.log('error', `audit: counts of unproven requests not written: ${(error as Error).message}`);
      }
    };
    // The audit log's size is counted once now, at start, rather than on the first command's write.
    runtime.store.audit.size();
    const flusher = setInterval(flushCounts, UNPROVEN_FLUSH_MS);
    flusher.unref();
    const daily = async () => {
      try {
        const days = runtime.store.settings.get(AUDIT_RETENTION_KEY);
        const pruned = runtime.store.audit.prune(auditCutoff(days));
        if (pruned) runtime.log('info', `audit: ${pruned} entries older than ${days} days removed`);
        if (!runtime.options.appliance) await rotateLogs(runtime.paths.logs);
      } catch (error) {
        runtime.log('error', `logs: ${(error as Error).message}`);
      }
      schedule();
    };
    const schedule = () => {
      timer = setTimeout(() => void daily(), untilMidnight() + 1000);
      timer.unref();
    };
    schedule();
    return async () => {
      clearTimeout(timer);
      clearInterval(flusher);
      flushCounts();
    };
  },
};
