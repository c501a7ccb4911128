// Waiting for a condition in a test: the one loop the tests share.

/**
 * Asks `check` every `everyMs` until it gives a truthy value, and returns it.
 * After `timeoutMs` it throws, naming `what` and adding what `explain` says
 * (the node's own view of itself, say), so that a failure explains itself.
 */
export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 100,
  explain?: () => string | Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${explain ? `\n${await explain()}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
