// What is true of the machine the tests run on, and so a true event of any
// node on it: a load above its cores (a test run on two cores often is), and
// a disk near or below the free-space thresholds (status/facts.ts), which
// may come and go as other tests write. Journeys that expect a quiet node
// accept these events, and only these.

import { lowDisk } from '../../status/facts.js';

const MACHINE_EVENTS: ReadonlySet<string> = new Set(['load-high', 'disk-low']);

/** Whether an event (by name, or its clearing) is about the machine rather than the node's own doing. */
export const isMachineEvent = (event: string) => MACHINE_EVENTS.has(event.replace(/-cleared$/, ''));

/** Whether a banner or health warning is this machine's disk, truly below its threshold now. */
export const isMachineDiskWarning = (warning: string, home: string) => warning.startsWith('LOW DISK SPACE') && lowDisk(home).length > 0;
