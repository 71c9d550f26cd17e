// Type-level checks for the declarations in index.d.ts: compiled with tsc, never run.
import Queue from "../index.js";

const queue = new Queue<number>();
queue.enqueue(1);

const next: number | undefined = queue.peek();
// @ts-expect-error peek may answer undefined
const notUndefined: number = queue.peek();

const drained: IterableIterator<number> = queue.drain();
for (const value of queue.drain()) {
  const n: number = value;
  void n;
}
const all: number[] = [...queue.drain()];
// @ts-expect-error drain yields the queue's value type
const wrong: string[] = [...queue.drain()];

export const used = [next, notUndefined, drained, all, wrong];
