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
