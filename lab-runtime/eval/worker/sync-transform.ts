import { type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import type { TransformAnswer, TransformRequest } from "../protocol.ts";

/** Transforms served by the main thread: `call` blocks for the answer, `prefetch` only starts one. */
export interface TransformPort {
  call(req: TransformRequest): TransformAnswer;
  prefetch(req: TransformRequest): void;
}

/** Longest the worker blocks for one transform before giving up (esbuild answers in milliseconds). */
const TRANSFORM_WAIT_MS = 30_000;

/**
 * A synchronous call to the main thread's transform cache: `require` is synchronous, esbuild's
 * service lives on the main thread, so the worker posts the request and sleeps on a shared flag
 * until the answer is in its port's queue.
 */
export function createSyncTransform(port: MessagePort, signal: SharedArrayBuffer): TransformPort {
  const flag = new Int32Array(signal);
  const prefetch = (req: TransformRequest) => port.postMessage({ ...req, prefetch: true });
  const call = (req: TransformRequest): TransformAnswer => {
    Atomics.store(flag, 0, 0);
    port.postMessage(req);
    const waited = Atomics.wait(flag, 0, 0, TRANSFORM_WAIT_MS);
    const answer = receiveMessageOnPort(port);
    if (!answer) throw new Error(`transform of ${req.file} got no answer from the main thread (${waited})`);
    return answer.message as TransformAnswer;
  };
  return { call, prefetch };
}
