// Once a day at midnight: the daemon rotates its logs folder (the embedded
// default; on an appliance logrotate does, packer/systemd/platform.logrotate) and
// prunes the audit log to its retention.

import { auditCutoff, AUDIT_RETENTION_KEY } from '../logs/audit.js';
import { rotateLogs, untilMidnight } from '../logs/rotate.js';
import type { Subsystem } from '../core/runtime.js';

export const logsSubsystem: Subsystem = {
  name: 'logs',
  async start(runtime) {
    let timer: NodeJS.Timeout | undefined;
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
    return async () => clearTimeout(timer);
  },
};
