import { request } from "node:http";
import { Readable } from "node:stream";

/**
 * A `fetch` for the SDK that sends each request over one unix socket (the Lab's model proxy) instead
 * of the network: the URL only gives the path and the Host header. Aborts cut the request; the
 * response body streams as it arrives.
 */
export function unixSocketFetch(socketPath: string): typeof globalThis.fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(input instanceof Request ? input.headers : undefined);
    for (const [name, value] of new Headers(init.headers)) headers.set(name, value);
    const body = await bodyBytes(
      init.body ?? (input instanceof Request ? await input.arrayBuffer() : undefined),
    );
    if (body) headers.set("content-length", String(body.length));
    const signal = init.signal ?? (input instanceof Request ? input.signal : undefined);
    signal?.throwIfAborted();
    return new Promise<Response>((resolve, reject) => {
      const req = request({
        socketPath,
        path: `${url.pathname}${url.search}`,
        method: init.method ?? (input instanceof Request ? input.method : "GET"),
        headers: Object.fromEntries(headers),
      });
      const onAbort = () => req.destroy();
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (err) => {
        signal?.removeEventListener("abort", onAbort);
        // As the global fetch does: an abort rejects with the signal's reason (an AbortError), so
        // the SDK can tell its own timeout from a broken connection.
        if (signal?.aborted) reject(signal.reason);
        else reject(new TypeError(`fetch failed: ${err.message}`, { cause: err }));
      });
      req.on("response", (res) => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
        }
        res.on("close", () => signal?.removeEventListener("abort", onAbort));
        const status = res.statusCode ?? 500;
        const empty = status === 204 || status === 304 || req.method === "HEAD";
        if (empty) res.resume();
        resolve(
          new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
            status,
            statusText: res.statusMessage ?? "",
            headers: out,
          }),
        );
      });
      req.end(body);
    });
  }) as typeof globalThis.fetch;
}

async function bodyBytes(body: unknown): Promise<Buffer | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof Blob) return Buffer.from(await body.arrayBuffer());
  if (body instanceof ReadableStream) return Buffer.from(await new Response(body).arrayBuffer());
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  throw new TypeError("unixSocketFetch: unsupported request body type");
}
