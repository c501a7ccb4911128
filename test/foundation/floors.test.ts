// The floors of DESIGN.md hold: every import goes to its own floor or
// below (the entry points, shell/ and daemon/main.ts, excepted), no two
// files or folders need each other in a loop, and every folder has a floor.
// scripts/floors.mjs prints the same measure for a person.

import { describe, expect, it } from 'vitest';
import { measure } from '../../scripts/floors.mjs';

describe('floors', () => {
  const report = measure();

  it('has no import going up a floor', () => {
    expect(report.upward).toEqual([]);
  });

  it('has no import cycle between files or between folders', () => {
    expect(report.fileCycles).toEqual([]);
    expect(report.folderCycles).toEqual([]);
  });

  it('puts every product folder on a floor', () => {
    expect(report.unknownFolders).toEqual([]);
  });
});
