/**
 * Per-key coordination within one process: a queue (one task after another per key) and a single
 * flight (callers of a key share the one run in flight).
 */

/**
 * Runs tasks one at a time per key, within this process: a task starts once the previous one for its
 * key has settled, whatever its outcome. A key's entry is dropped once idle, so a long-lived process
 * does not keep one per repository or workspace it ever saw.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const run = (this.#tails.get(key) ?? Promise.resolve()).then(task);
    const settled = run.then(
      () => {},
      () => {},
    );
    this.#tails.set(key, settled);
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return run;
  }

  /** Keys with a task queued or running (for tests of the clean-up). */
  get size(): number {
    return this.#tails.size;
  }
}

/**
 * One run per key at a time, shared: a caller that asks for a key while its run is in flight gets
 * that run's promise instead of starting another (the same work, e.g. one measurement per commit
 * however many verifications ask). The key is free again once the run settles, fulfilled or not, so
 * a failure is not remembered and the next caller runs afresh.
 */
export class SingleFlight<T> {
  readonly #running = new Map<string, Promise<T>>();

  run(key: string, task: () => Promise<T>): Promise<T> {
    const running = this.#running.get(key);
    if (running) return running;
    const started = task().finally(() => this.#running.delete(key));
    this.#running.set(key, started);
    return started;
  }

  /** Keys with a run in flight (for tests of the clean-up). */
  get size(): number {
    return this.#running.size;
  }
}
