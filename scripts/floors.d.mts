// Types of floors.mjs (plain JavaScript so that it runs without a build).

export const FLOORS: string[][];

export interface FloorsReport {
  files: number;
  importsBetweenFolders: number;
  /** "from -> to" for each import that goes up a floor. */
  upward: string[];
  fileCycles: string[][];
  folderCycles: string[][];
  unknownFolders: string[];
}

/** The folder graph of the checkout at `root` (this one by default). */
export function measure(root?: string): FloorsReport;
