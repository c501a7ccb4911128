// platformd stopping, as every piece of work in flight sees it: one signal,
// aborted when SIGTERM arrives, that each request of the local API, each
// command run for the cluster or the schedule, and each stream (`log
// follow`) listens to through its own AbortSignal.

export const stopping = new AbortController();

/** Aborts everything in flight; what a command sees as its signal's reason. */
export function abortEverything(): void {
  if (!stopping.signal.aborted) stopping.abort(new Error('platformd is stopping'));
}
