/** A small seeded generator (mulberry32): the same seed gives the same requests, so a failure reproduces. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  text(max: number, alphabet = "abc XYZ019-_/.%\"'\\{}[]<>:;,=&?#\u00e9\u4e2d\u0000\n\t"): string {
    let s = "";
    const n = this.int(max + 1);
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

export interface FuzzRoute {
  readonly method: "GET" | "POST";
  /** With `:name` parameters. */
  readonly path: string;
  /** Bodies of the right shape: the fuzzer mutates their fields. */
  readonly sample?: Record<string, unknown>;
}

export interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

// CONNECT and Upgrade go over raw sockets (malformedRequest): node's client treats them apart.
const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND", "FOO"];
const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "text/plain;charset=UTF-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=----x",
  'application/json; charset=latin1; x="y"',
  "application/jsonp",
  ";;;",
  "",
];
const ODD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 53,
  1e308,
  "",
  " ",
  "1",
  "x".repeat(5000),
  [],
  {},
  [1, 2],
  { nested: { deeper: [null] } },
];

function param(rng: Rng): string {
  return rng.pick([
    () => String(rng.int(10)),
    () => String(rng.int(2 ** 31)),
    () => "-1",
    () => "0",
    () => "1e3",
    () => "%zz",
    () => "%00",
    () => "..%2F..%2Fetc%2Fpasswd",
    () => encodeURIComponent(rng.text(40)),
    () => "9".repeat(400),
    () => "%E2%82",
  ])();
}

function mutateObject(rng: Rng, sample: Record<string, unknown>): unknown {
  const out: Record<string, unknown> = { ...sample };
  const keys = Object.keys(out);
  const edits = 1 + rng.int(3);
  for (let i = 0; i < edits; i++) {
    const what = rng.int(4);
    if (what === 0 && keys.length > 0) delete out[rng.pick(keys)];
    else if (what === 1 && keys.length > 0) out[rng.pick(keys)] = rng.pick(ODD_VALUES);
    else if (what === 2)
      out[rng.pick(["extra", "__proto__", "constructor", "toString", rng.text(8)])] = rng.pick(ODD_VALUES);
    else return rng.pick(ODD_VALUES);
  }
  return out;
}

function nested(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

function body(rng: Rng, route: FuzzRoute, maxBodyBytes: number): Buffer | undefined {
  const make = rng.pick<() => Buffer | undefined>([
    () => undefined,
    () => Buffer.alloc(0),
    () => Buffer.from(JSON.stringify(mutateObject(rng, route.sample ?? { a: 1 }))),
    () => Buffer.from(JSON.stringify(mutateObject(rng, route.sample ?? { a: 1 }))),
    () => Buffer.from(JSON.stringify(mutateObject(rng, route.sample ?? { a: 1 })).slice(0, -1 - rng.int(5))),
    () => Buffer.from(rng.text(200)),
    () => Buffer.from(Array.from({ length: rng.int(300) }, () => rng.int(256))),
    () => Buffer.from(nested(1000 + rng.int(20_000))),
    () => Buffer.from(`{"a":${'"x",'.repeat(rng.int(1000))}1}`),
    () => Buffer.alloc(maxBodyBytes + 1 + rng.int(maxBodyBytes), 0x7b),
    () => Buffer.from(`{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}`),
    () => Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from(JSON.stringify(route.sample ?? {}))]),
    () => Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
  ]);
  return make();
}

/**
 * One request aimed at `route`: mostly its own method and path with a mutated body, content type and
 * headers; sometimes another method, odd parameters, a foreign Host or Origin, an oversize body.
 */
export function fuzzRequest(rng: Rng, route: FuzzRoute, host: string, maxBodyBytes: number): FuzzRequest {
  const method = rng.chance(0.75) ? route.method : rng.pick(METHODS);
  let path = route.path.replace(/:[a-z]+/g, () => param(rng));
  if (rng.chance(0.2))
    path += `?${rng.pick(["x=1", "a=%zz", `q=${encodeURIComponent(rng.text(50))}`, "&&=", "x".repeat(2000)])}`;
  if (rng.chance(0.05)) path = path.replace(/^\//, "//");
  const headers: Record<string, string> = { host };
  if (rng.chance(0.9)) {
    const type = rng.pick(CONTENT_TYPES);
    if (type !== "") headers["content-type"] = type;
  }
  if (rng.chance(0.15))
    headers.host = rng.pick(["evil.test", `evil.test:${host.split(":").pop()}`, "127.0.0.1:1", "[::1]", ""]);
  if (rng.chance(0.15)) headers.origin = rng.pick(["null", "http://evil.test", `http://${host}`, "x"]);
  if (rng.chance(0.1))
    headers["sec-fetch-site"] = rng.pick(["cross-site", "same-site", "same-origin", "none", "?"]);
  if (rng.chance(0.1))
    headers.authorization = rng.pick(["Bearer", "Bearer x", "Basic Zm9v", "x".repeat(3000)]);
  if (rng.chance(0.2))
    headers.accept = rng.pick(["text/html", "application/json", "*/*", "text/event-stream", ";q=x"]);
  if (rng.chance(0.05)) headers[`x-${rng.int(1000)}`] = "v".repeat(rng.int(12_000));
  const b =
    method === "GET" || method === "HEAD"
      ? rng.chance(0.1)
        ? Buffer.from("{}")
        : undefined
      : body(rng, route, maxBodyBytes);
  // A body always goes with its framing: node's client sends a GET's body bare, which reads as the
  // start of the next request (the server's 400 for that is right, but it is not what is fuzzed here).
  if (b !== undefined) {
    if (method === "POST" && rng.chance(0.2)) headers["transfer-encoding"] = "chunked";
    else headers["content-length"] = String(b.length);
  }
  return { method, path, headers, ...(b === undefined ? {} : { body: b }) };
}

/** Bytes that are not well-formed HTTP/1.1, for the parser: each must get a JSON 400 (or 431) and a close. */
export function malformedRequest(rng: Rng, host: string): string {
  return rng.pick([
    () => "GARBAGE\r\n\r\n",
    () => `GET / HTTP/9.9\r\nHost: ${host}\r\n\r\n`,
    () => `GET /${"a".repeat(20_000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    () => `GET / HTTP/1.1\r\nHost: ${host}\r\nBad Header\r\n\r\n`,
    () => `POST /x HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    () => `POST /x HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello`,
    () => `POST /x HTTP/1.1\r\nHost: ${host}\r\nContent-Length: -1\r\n\r\n`,
    () => `GET / HTTP/1.1\r\nHost: ${host}\r\n${"X-Big: ".concat("y".repeat(20_000))}\r\n\r\n`,
    () => `\u0000\u0001\u0002${rng.text(30)}\r\n\r\n`,
    () => `CONNECT ${host} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    () => `GET /logs HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
  ])();
}
