// The one text form of a time for people (core/time.ts): the seed's banner
// format with its zone, always UTC. JSON keeps ISO 8601.

import { describe, expect, it } from 'vitest';
import { formatTime } from '../../core/time.js';

describe('times shown to people', () => {
  it('are YYYY-MM-DD HH:MM:SS UTC, from a Date or an ISO 8601 text, whatever the offset it was written with', () => {
    expect(formatTime(new Date('2014-09-26T11:30:02.000Z'))).toBe('2014-09-26 11:30:02 UTC');
    expect(formatTime('2026-12-02T05:00:30+02:00')).toBe('2026-12-02 03:00:30 UTC');
    expect(formatTime('2026-01-05T07:08:09Z')).toBe('2026-01-05 07:08:09 UTC');
  });

  it('show a text that is not a time as it is', () => {
    expect(formatTime('never')).toBe('never');
  });
});
