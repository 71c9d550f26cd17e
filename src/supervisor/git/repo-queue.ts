import path from "node:path";
import { KeyedQueue } from "../../shared/keyed-queue.ts";

const queue = new KeyedQueue();

/**
 * Runs operations that move main one at a time per repository within this process: two promotions
 * racing would otherwise both plan from the same main, and the loser would fail with MAIN_MOVED.
 */
export function serializedOnRepo<T>(repo: string, task: () => Promise<T>): Promise<T> {
  return queue.run(path.resolve(repo), task);
}
