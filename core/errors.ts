// Errors are values with a stable code: exit status 2 for bad input, 1 for
// failures (3, daemon unreachable, is the client's own).

export type ExitStatus = 0 | 1 | 2 | 3;

// Fields are declared, not parameter properties: the store's worker thread
// loads this module as TypeScript with Node's type stripping (store/shapes.ts).
export class PlatformError extends Error {
  readonly code: string;
  readonly exitStatus: 1 | 2;
  readonly hints: string[];

  constructor(code: string, message: string, exitStatus: 1 | 2 = 1, hints: string[] = []) {
    super(message);
    this.code = code;
    this.exitStatus = exitStatus;
    this.hints = hints;
  }
}

/** A person typed something that cannot work: exit status 2. */
export function badInput(code: string, message: string, hints: string[] = []): PlatformError {
  return new PlatformError(code, message, 2, hints);
}

/** The request was fine but doing it failed: exit status 1. */
export function failure(code: string, message: string, hints: string[] = []): PlatformError {
  return new PlatformError(code, message, 1, hints);
}

