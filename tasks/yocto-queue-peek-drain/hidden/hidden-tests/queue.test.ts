import assert from "node:assert/strict";
import { test } from "node:test";
import Queue from "../index.js";

test("peek answers the next value without removing it", () => {
  const queue = new Queue<string>();
  assert.equal(queue.peek(), undefined);
  queue.enqueue("a");
  queue.enqueue("b");
  assert.equal(queue.peek(), "a");
  assert.equal(queue.peek(), "a");
  assert.equal(queue.size, 2);
  assert.equal(queue.dequeue(), "a");
  assert.equal(queue.peek(), "b");
  queue.dequeue();
  assert.equal(queue.peek(), undefined);
  queue.enqueue("c");
  assert.equal(queue.peek(), "c");
  queue.clear();
  assert.equal(queue.peek(), undefined);
});

test("drain yields every value front to back and empties the queue", () => {
  const queue = new Queue<number>();
  for (const n of [1, 2, 3]) queue.enqueue(n);
  assert.deepEqual([...queue.drain()], [1, 2, 3]);
  assert.equal(queue.size, 0);
  assert.equal(queue.dequeue(), undefined);
  assert.deepEqual([...queue.drain()], []);
});

test("drain removes values only as they are consumed", () => {
  const queue = new Queue<number>();
  for (const n of [1, 2, 3, 4]) queue.enqueue(n);
  const iterator = queue.drain();
  assert.equal(queue.size, 4);
  assert.deepEqual(iterator.next(), { value: 1, done: false });
  assert.equal(queue.size, 3);
  assert.equal(iterator.next().value, 2);
  assert.deepEqual([...queue], [3, 4]);
});

test("values enqueued while draining are drained too", () => {
  const queue = new Queue<number>();
  queue.enqueue(1);
  const seen: number[] = [];
  for (const n of queue.drain()) {
    seen.push(n);
    if (n < 3) queue.enqueue(n + 1);
  }
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(queue.size, 0);
});

test("iterating the queue itself still does not remove anything", () => {
  const queue = new Queue<number>();
  queue.enqueue(1);
  queue.enqueue(2);
  assert.deepEqual([...queue], [1, 2]);
  assert.equal(queue.size, 2);
});
