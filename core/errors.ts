// Errors are values with a stable code: exit status 2 for bad input, 1 for
// failures (3, daemon unreachable, is the client's own).

export type ExitStatus = 0 | 1 | 2 | 3;

export class PlatformError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitStatus: 1 | 2 = 1,
    readonly hints: string[] = [],
  ) {
    super(message);
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

