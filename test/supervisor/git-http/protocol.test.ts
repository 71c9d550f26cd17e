import { stat } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloneAt, startGitHttp } from "../../../src/supervisor/git-http/index.ts";
import { pktLine } from "../../../src/supervisor/git-http/pkt-line.ts";
import { sh } from "../git-repo-fixture.ts";
import { backendProcesses, type GitHttpFixture, refs, startFixture } from "./git-http-fixture.ts";

let f: GitHttpFixture;
let base: string;
let pushToken: string;
let fetchToken: string;
const MAX_PUSH = 100_000;

beforeAll(async () => {
  f = await startFixture({ maxPushBytes: MAX_PUSH });
  base = f.server.url;
  pushToken = f.server.grant({ generation: 3, push: "lab/gen-3" });
  fetchToken = f.server.grant({ generation: 3 });
});
afterAll(async () => {
  await f?.cleanup();
});

const basic = (token: string, user = "loom") => `Basic ${Buffer.from(`${user}:${token}`).toString("base64")}`;

async function call(
  path: string,
  init: {
    method?: string;
    token?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    /** `path` from the server's root rather than the repository's URL. */
    root?: boolean;
  } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = basic(init.token);
  const res = await fetch(`${init.root ? new URL(base).origin : base}${path}`, {
    method: init.method ?? "GET",
    headers,
    body: init.body,
  });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body };
}

const ZERO = "0".repeat(40);
/** A receive-pack request body: the commands (capabilities on the first) and a flush, no pack. */
function pushBody(commands: string[], capabilities = "report-status side-band-64k"): Buffer {
  return Buffer.concat([
    ...commands.map((c, i) => pktLine(i === 0 ? `${c}\0${capabilities}` : c)),
    Buffer.from("0000"),
  ]);
}
const RECEIVE = { "content-type": "application/x-git-receive-pack-request" };

describe("what the endpoint refuses over HTTP", () => {
  it("answers unknown paths 404 and wrong methods 405, before asking for a token", async () => {
    for (const path of [
      "/",
      "/loom.git/x",
      "/loom.git/HEAD",
      "/loom.git/objects/info/packs",
      "/other.git/info/refs",
      "/loom.git/info/refs/",
    ]) {
      const r = await call(path, { root: true });
      expect([r.status, r.body]).toEqual([404, expect.stringContaining("no such path")]);
    }
    const r = await call("/info/refs", { method: "POST", token: pushToken });
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("GET");
  });

  it("answers 401 with a Basic challenge for no, malformed, wrong or revoked credentials", async () => {
    const revoked = f.server.grant({ generation: 4 });
    f.server.revoke(revoked);
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /no credentials were sent/],
      [{ authorization: `Bearer ${pushToken}` }, /not HTTP Basic/],
      [{ authorization: basic(pushToken, "root") }, /the user is "root", not "loom"/],
      [{ authorization: basic("wrong") }, /not valid \(never granted, or revoked\)/],
      [{ authorization: basic(revoked) }, /not valid \(never granted, or revoked\)/],
    ];
    for (const [headers, message] of cases) {
      const r = await call("/info/refs?service=git-upload-pack", { headers });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toMatch(/^Basic realm="loom"/);
      expect(r.body).toMatch(message);
    }
    expect((await call("/info/refs?service=git-upload-pack", { token: fetchToken })).status).toBe(200);
  });

  it("serves only the smart protocol's services", async () => {
    const none = await call("/info/refs", { token: fetchToken });
    expect([none.status, none.body]).toEqual([400, expect.stringMatching(/service=\(none\) is not served/)]);
    const other = await call("/info/refs?service=git-upload-archive", { token: fetchToken });
    expect(other.status).toBe(400);
  });

  it("gives a fetch-only token no receive-pack at all", async () => {
    const advert = await call("/info/refs?service=git-receive-pack", { token: fetchToken });
    expect([advert.status, advert.body]).toEqual([403, expect.stringMatching(/may fetch only/)]);
    const before = await refs(f.repo);
    const main = await sh(f.repo, ["rev-parse", "main"]);
    const post = await call("/git-receive-pack", {
      method: "POST",
      token: fetchToken,
      headers: RECEIVE,
      body: pushBody([`${ZERO} ${main} refs/heads/lab/gen-3`]),
    });
    expect(post.status).toBe(403);
    expect(await refs(f.repo)).toBe(before);
  });

  it("refuses a push body it cannot read, a compressed one and an oversized one, changing nothing", async () => {
    const before = await refs(f.repo);
    const main = await sh(f.repo, ["rev-parse", "main"]);
    const post = (body: Buffer | string, headers: Record<string, string> = {}) =>
      call("/git-receive-pack", {
        method: "POST",
        token: pushToken,
        headers: { ...RECEIVE, ...headers },
        body,
      });
    expect(await post("hello")).toMatchObject({
      status: 400,
      body: expect.stringMatching(/bad pkt-line length "hell"/),
    });
    expect(await post(pktLine(`${ZERO} ${main} main`))).toMatchObject({
      status: 400,
      body: expect.stringMatching(/not a ref update/),
    });
    expect(await post(pktLine("push-cert\0report-status"))).toMatchObject({ status: 400 });
    expect(await post(pktLine(`${ZERO} ${main} refs/heads/lab/gen-3`))).toMatchObject({
      status: 400,
      body: expect.stringMatching(/ended inside the command list/),
    });
    expect(
      await post(pushBody([`${ZERO} ${main} refs/heads/lab/gen-3`]), { "content-encoding": "gzip" }),
    ).toMatchObject({
      status: 415,
      body: expect.stringMatching(/Content-Encoding gzip is not accepted/),
    });
    const big = Buffer.concat([pushBody([`${ZERO} ${main} refs/heads/lab/gen-3`]), Buffer.alloc(MAX_PUSH)]);
    expect(await post(big)).toMatchObject({
      status: 413,
      body: expect.stringMatching(`larger than the limit of ${MAX_PUSH} bytes`),
    });
    expect(await refs(f.repo)).toBe(before);
  });

  it("refuses another ref with a plain 403 to a client that asked for no report", async () => {
    const main = await sh(f.repo, ["rev-parse", "main"]);
    const r = await call("/git-receive-pack", {
      method: "POST",
      token: pushToken,
      headers: RECEIVE,
      body: pushBody([`${main} ${main} refs/heads/main`], "ofs-delta"),
    });
    expect(r.status).toBe(403);
    expect(r.body).toContain(
      "refs/heads/main: this token may push only refs/heads/lab/gen-3, not refs/heads/main",
    );
  });

  it("answers bad fetch bodies without a server error", async () => {
    const upload = { "content-type": "application/x-git-upload-pack-request" };
    const bodies: [Record<string, string>, string | Buffer][] = [
      [upload, "garbage"],
      [upload, pktLine("want nonsense\n")],
      [{ "content-type": "text/plain" }, "0000"],
      [{ ...upload, "content-encoding": "gzip" }, "not gzip"],
      [
        { ...upload, "git-protocol": "version=2" },
        Buffer.concat([pktLine("command=nope\n"), Buffer.from("0000")]),
      ],
    ];
    for (const [headers, body] of bodies) {
      const r = await call("/git-upload-pack", { method: "POST", token: fetchToken, headers, body });
      expect(r.status, JSON.stringify(headers)).toBeLessThan(500);
    }
  });
});

describe("processes", () => {
  /** Starts a fetch whose body never ends; resolves once its git-http-backend runs. */
  async function hangingRequest(): Promise<http.ClientRequest> {
    const url = new URL(`${base}/git-upload-pack`);
    const req = http.request(url, {
      method: "POST",
      headers: {
        authorization: basic(fetchToken),
        "content-type": "application/x-git-upload-pack-request",
        "transfer-encoding": "chunked",
      },
    });
    req.on("error", () => {});
    req.write(pktLine("want "));
    for (let i = 0; i < 100 && (await backendProcesses(f.repo)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await backendProcesses(f.repo)).length).toBeGreaterThan(0);
    return req;
  }

  async function noneLeft(): Promise<number[]> {
    for (let i = 0; i < 100; i++) {
      const left = await backendProcesses(f.repo);
      if (left.length === 0) return left;
      await new Promise((r) => setTimeout(r, 20));
    }
    return backendProcesses(f.repo);
  }

  it("ends the git process of a client that goes away", async () => {
    const req = await hangingRequest();
    req.destroy();
    expect(await noneLeft()).toEqual([]);
  });

  it("close() ends running requests and waits for their processes", async () => {
    const g = await startFixture();
    try {
      const token = g.server.grant({ generation: 1 });
      const req = http.request(new URL(`${g.server.url}/git-upload-pack`), {
        method: "POST",
        headers: {
          authorization: basic(token),
          "content-type": "application/x-git-upload-pack-request",
          "transfer-encoding": "chunked",
        },
      });
      req.on("error", () => {});
      req.write(pktLine("want "));
      for (let i = 0; i < 100 && (await backendProcesses(g.repo)).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await backendProcesses(g.repo)).length).toBeGreaterThan(0);
      await g.server.close();
      expect(await backendProcesses(g.repo)).toEqual([]);
      await expect(fetch(`${g.server.url}/info/refs?service=git-upload-pack`)).rejects.toThrow();
    } finally {
      await g.cleanup();
    }
  });
});

describe("starting and granting", () => {
  it("refuses options it cannot use, naming them", async () => {
    await expect(startGitHttp({ repoPath: f.root })).rejects.toThrow(/repoPath .* is not a git repository/);
    await expect(startGitHttp({ repoPath: f.repo, port: -1 })).rejects.toThrow(/port: Too small/);
    await expect(startGitHttp({ repoPath: f.repo, maxPushBytes: 0 })).rejects.toThrow(/maxPushBytes/);
  });

  it("grants a push only of the generation's own branch", () => {
    expect(() => f.server.grant({ generation: 3, push: "lab/gen-4" })).toThrow(
      /push: "lab\/gen-4" is not accepted: a grant for generation 3 may push only "lab\/gen-3"/,
    );
    expect(() => f.server.grant({ generation: 3, push: "main" })).toThrow(/may push only "lab\/gen-3"/);
    expect(() => f.server.grant({ generation: 0 })).toThrow(/generation: Too small/);
    expect(() => f.server.grant({ generation: 2, extra: 1 } as never)).toThrow(/extra/);
    const a = f.server.grant({ generation: 2 });
    const b = f.server.grant({ generation: 2 });
    expect(a).not.toBe(b);
    expect(a.length).toBeGreaterThanOrEqual(40);
  });
});

describe("a unix socket", () => {
  it("serves the same endpoint, with the same tokens, and goes with close()", async () => {
    const g = await startFixture();
    try {
      const socketPath = path.join(g.root, "git.sock");
      await g.server.listenSocket(socketPath);
      expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
      const get = (token: string) =>
        new Promise<number>((resolve, reject) => {
          http
            .get(
              {
                socketPath,
                path: "/loom.git/info/refs?service=git-upload-pack",
                headers: { authorization: basic(token) },
              },
              (res) => {
                res.resume();
                resolve(res.statusCode ?? 0);
              },
            )
            .on("error", reject);
        });
      expect(await get(g.server.grant({ generation: 1 }))).toBe(200);
      expect(await get("wrong")).toBe(401);
      // git itself, through a loopback-to-socket bridge like the one a Lab without a network would run.
      const bridge = net.createServer((conn) => {
        const up = net.connect(socketPath);
        conn.pipe(up).pipe(conn);
        conn.on("error", () => up.destroy());
        up.on("error", () => conn.destroy());
      });
      await new Promise<void>((resolve) => bridge.listen(0, "127.0.0.1", resolve));
      const port = (bridge.address() as net.AddressInfo).port;
      try {
        const dir = path.join(g.root, "via-socket");
        const sha = await cloneAt({
          url: `http://127.0.0.1:${port}/loom.git`,
          token: g.server.grant({ generation: 1 }),
          ref: "main",
          dir,
        });
        expect(sha).toBe(await sh(g.repo, ["rev-parse", "main"]));
      } finally {
        await new Promise<void>((resolve) => bridge.close(() => resolve()));
      }
      await expect(g.server.listenSocket("relative.sock")).rejects.toThrow(/pass an absolute path/);
      await g.server.close();
      await expect(stat(socketPath)).rejects.toThrow(/ENOENT/);
    } finally {
      await g.cleanup();
    }
  });
});
