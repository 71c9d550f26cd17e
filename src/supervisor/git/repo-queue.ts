import path from "node:path";

const queues = new Map<string, Promise<unknown>>();

/**
 * Runs operations that move main one at a time per repository within this process: two promotions
 * racing would otherwise both plan from the same main, and the loser would fail with MAIN_MOVED.
 */
export function serializedOnRepo<T>(repo: string, task: () => Promise<T>): Promise<T> {
  const key = path.resolve(repo);
  const run = (queues.get(key) ?? Promise.resolve()).then(task);
  const settled = run.then(
    () => {},
    () => {},
  );
  queues.set(key, settled);
  // Drop the entry once idle so a long-lived Supervisor does not keep one per repo forever.
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return run;
}
