import { spawn } from "node:child_process";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net, { type Socket } from "node:net";
import path from "node:path";
import { errorMessage, LoomError } from "../../shared/errors.ts";

/**
 * The Lab gateway: how a Lab on another node reaches its generation's socket folder without sharing a
 * filesystem with the Supervisor. One HTTP endpoint (LOOM_GATEWAY_PORT, reached by the nodes at
 * LOOM_GATEWAY_URL); the Lab's relay (`loom lab-relay`, in front of the jailed Lab) authenticates with
 * its generation's token and gets, from that generation's folder only:
 *
 *   GET  /v1/hello              the git token, what to check out, the secrets file (a Lab), the packages
 *   GET  /v1/packages           the repository's packages as a tar stream (cached per node by key)
 *   *    /v1/git/<key>/loom.git/… the task's own git endpoint (git.sock: its workspace, push of
 *                               lab/gen-N only), proxied; git's own Basic token authenticates these
 *   PUT  /v1/packages           (an install step) what it installed, unpacked for the steps after it
 *   PUT  /v1/report             the Lab's report, written to the workspace's .loom/report.json
 *   GET  /v1/connect/model      (Upgrade) a byte stream to the model proxy's model.sock
 *   GET  /v1/accept             (Upgrade) the control stream: the gateway writes `open <id>\n` per
 *                               connection the Supervisor makes to the folder's lab.sock
 *   GET  /v1/back/<id>          (Upgrade) the relay's stream for that connection, piped to it
 *
 * So the Supervisor keeps talking to `<folder>/lab.sock` and `<folder>/model.sock` exactly as for a
 * Lab that has the folder mounted; only the relay knows the difference.
 */

export class GatewayError extends LoomError {
  constructor(message: string) {
    super("GATEWAY", message);
  }
}

export interface GatewayRegistration {
  /** Names the registration in paths (`/v1/git/<key>/…`): `gen-N` for a Lab, one per verification step. */
  readonly key: string;
  /** The folder of its sockets on this host: git.sock always; model.sock and lab.sock for a Lab. */
  readonly dir: string;
  /** The token of the git endpoint on `<dir>/git.sock`. */
  readonly gitToken: string;
  /** What the relay checks out: a Lab's branch (pushed back at the end), or a commit (nothing pushed). */
  readonly checkout: { readonly branch: string } | { readonly commit: string };
  /** A Lab's secrets file, its model.sock and lab.sock tunnelled; absent for a verification step. */
  readonly lab?: { readonly secretsFile: string; readonly workspace: string };
  /** Host folder of the repository's packages (node_modules), if the task gets them. */
  readonly packages?: string;
  /** Names the packages' content, so nodes cache one copy per key. */
  readonly packagesKey?: string;
  /**
   * Where they appear: `node_modules` links the workspace's node_modules to them (a Lab); a path means
   * there, with the workspace's node_modules a folder of links into it (a verification step).
   */
  readonly packagesAt?: "node_modules" | string;
  /**
   * A verification step that installs the candidate's packages (its lockfile changed): the relay sends
   * what it installed (`PUT /v1/packages`, a tar) and it is unpacked here, for the steps after it.
   */
  readonly uploadPackagesTo?: string;
}

export interface Gateway {
  /** What nodes use to reach it. */
  readonly url: string;
  readonly port: number;
  /** Opens a task's way in; its token goes to the relay. */
  register(reg: GatewayRegistration): Promise<string>;
  /** Closes its lab.sock, ends its streams, forgets its token. Idempotent. */
  unregister(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  readonly host?: string;
  readonly port?: number;
  /** The URL nodes reach it at; default `http://<host>:<port>`. */
  readonly url?: string;
  readonly log?: (line: string) => void;
}

interface Entry {
  readonly reg: GatewayRegistration;
  readonly token: Buffer;
  readonly labServer: net.Server | undefined;
  control: Socket | undefined;
  readonly pending: Map<number, Socket>;
  readonly streams: Set<Socket>;
  nextId: number;
}

const MAX_REPORT_BYTES = 4 * 1024 * 1024;
/** An installed node_modules, as a tar: bounded, so a hostile install cannot fill the Supervisor's disk. */
export const MAX_PACKAGES_BYTES = 4 * 1024 * 1024 * 1024;
const PENDING_MS = 10_000;

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const host = options.host ?? "127.0.0.1";
  const entries = new Map<string, Entry>();
  const sockets = new Set<Socket>();

  const find = (req: IncomingMessage): Entry | undefined => {
    const m = /^Bearer ([0-9a-f]{64})$/.exec(req.headers.authorization ?? "");
    if (!m?.[1]) return undefined;
    const given = Buffer.from(m[1], "hex");
    for (const e of entries.values()) if (timingSafeEqual(e.token, given)) return e;
    return undefined;
  };

  const answer = (res: ServerResponse, status: number, body: string | object): void => {
    const text = typeof body === "string" ? `${body}\n` : JSON.stringify(body);
    res.writeHead(status, {
      "content-type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  };

  const server = http.createServer(async (req, res) => {
    try {
      const git = /^\/v1\/git\/([A-Za-z0-9_.-]+)(\/.*)$/.exec(
        new URL(req.url ?? "/", "http://gateway").pathname,
      );
      if (git) {
        const target = entries.get(git[1] ?? "");
        if (!target) return answer(res, 404, `${git[1]} has no git endpoint here`);
        return proxyGit(req, res, path.join(target.reg.dir, "git.sock"), git[2] ?? "/", req.url ?? "");
      }
      const entry = find(req);
      if (!entry)
        return answer(res, 401, "the gateway needs Authorization: Bearer <the generation's gateway token>");
      const url = new URL(req.url ?? "/", "http://gateway");
      const { reg } = entry;
      if (url.pathname === "/v1/hello" && req.method === "GET") {
        return answer(res, 200, {
          key: reg.key,
          gitToken: reg.gitToken,
          checkout: reg.checkout,
          secrets: reg.lab ? await readFile(reg.lab.secretsFile, "utf8") : null,
          packages: reg.packages
            ? { key: reg.packagesKey ?? "none", at: reg.packagesAt ?? "node_modules" }
            : null,
          upload: reg.uploadPackagesTo !== undefined,
        });
      }
      if (url.pathname === "/v1/packages" && req.method === "GET") {
        if (!reg.packages) return answer(res, 404, "this generation has no packages");
        const dir = await realpath(reg.packages);
        res.writeHead(200, { "content-type": "application/x-tar" });
        const tar = spawn("tar", ["-C", dir, "-c", "."], { stdio: ["ignore", "pipe", "ignore"] });
        tar.stdout.pipe(res);
        res.on("close", () => tar.kill("SIGKILL"));
        return;
      }
      if (url.pathname === "/v1/packages" && req.method === "PUT" && reg.uploadPackagesTo) {
        return receivePackages(req, res, reg.uploadPackagesTo, answer);
      }
      if (url.pathname === "/v1/report" && req.method === "PUT" && reg.lab) {
        const body = await readLimited(req, MAX_REPORT_BYTES);
        if (body === undefined) return answer(res, 413, `a report is at most ${MAX_REPORT_BYTES} bytes`);
        try {
          JSON.parse(body.toString("utf8"));
        } catch {
          return answer(res, 400, "the report is not JSON");
        }
        const target = path.join(reg.lab.workspace, ".loom", "report.json");
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(`${target}.tmp`, body);
        const { rename } = await import("node:fs/promises");
        await rename(`${target}.tmp`, target);
        return answer(res, 204, "");
      }
      return answer(res, 404, `no such path ${url.pathname}`);
    } catch (err) {
      if (!res.headersSent) answer(res, 500, `gateway: ${errorMessage(err)}`);
      else res.destroy();
    }
  });

  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const refuse = (status: number, why: string) => {
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${why}\n`,
      );
    };
    const entry = find(req);
    if (!entry)
      return refuse(401, "the gateway needs Authorization: Bearer <the generation's gateway token>");
    const upgraded = () => {
      socket.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: loom-stream\r\nconnection: upgrade\r\n\r\n");
      if (head.length > 0) socket.unshift(head);
      entry.streams.add(socket);
      socket.on("close", () => entry.streams.delete(socket));
      socket.on("error", () => socket.destroy());
    };
    const pathname = new URL(req.url ?? "/", "http://gateway").pathname;
    if (!entry.reg.lab) return refuse(404, "a verification step has no streams");
    if (pathname === "/v1/connect/model") {
      const upstream = net.connect(path.join(entry.reg.dir, "model.sock"));
      upstream.once("connect", () => {
        upgraded();
        pipeBoth(socket, upstream, entry.streams);
      });
      upstream.once("error", (err) => refuse(502, `the model proxy is not there: ${err.message}`));
      return;
    }
    if (pathname === "/v1/accept") {
      upgraded();
      entry.control?.destroy();
      entry.control = socket;
      socket.on("close", () => {
        if (entry.control === socket) entry.control = undefined;
      });
      return;
    }
    const back = /^\/v1\/back\/(\d+)$/.exec(pathname);
    if (back) {
      const local = entry.pending.get(Number(back[1]));
      if (!local) return refuse(404, "no connection is waiting under that id");
      entry.pending.delete(Number(back[1]));
      upgraded();
      pipeBoth(socket, local, entry.streams);
      return;
    }
    refuse(404, `no stream at ${pathname}`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const url = options.url ?? `http://${host}:${port}`;

  const unregister = async (key: string): Promise<void> => {
    const e = entries.get(key);
    if (!e) return;
    entries.delete(key);
    e.control?.destroy();
    for (const s of [...e.pending.values(), ...e.streams]) s.destroy();
    const lab = e.labServer;
    if (lab) await new Promise<void>((r) => lab.close(() => r()));
  };

  return {
    url,
    port,
    async register(reg) {
      if (!/^[A-Za-z0-9_.-]{1,100}$/.test(reg.key))
        throw new GatewayError(
          `a gateway key is letters, digits, '_', '.' or '-', not ${JSON.stringify(reg.key)}`,
        );
      if (entries.has(reg.key)) throw new GatewayError(`${reg.key} is already registered with the gateway`);
      const token = randomBytes(32);
      const entry: Entry = {
        reg,
        token,
        labServer: reg.lab ? net.createServer() : undefined,
        control: undefined,
        pending: new Map(),
        streams: new Set(),
        nextId: 1,
      };
      const lab = entry.labServer;
      if (lab) {
        const labSocket = path.join(reg.dir, "lab.sock");
        await rm(labSocket, { force: true });
        // The Supervisor's side of lab.sock: each connection waits for the relay's stream back.
        lab.on("connection", (conn) => {
          if (!entry.control) {
            conn.destroy();
            return;
          }
          const id = entry.nextId++;
          entry.pending.set(id, conn);
          entry.control.write(`open ${id}\n`);
          const t = setTimeout(() => {
            if (entry.pending.delete(id)) conn.destroy();
          }, PENDING_MS);
          conn.on("close", () => {
            clearTimeout(t);
            entry.pending.delete(id);
          });
          conn.on("error", () => conn.destroy());
        });
        await new Promise<void>((resolve, reject) => {
          lab.once("error", reject);
          lab.listen(labSocket, () => resolve());
        });
      }
      entries.set(reg.key, entry);
      return token.toString("hex");
    },
    unregister,
    async close() {
      for (const n of [...entries.keys()]) await unregister(n);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function pipeBoth(a: Socket, b: Socket, streams: Set<Socket>): void {
  streams.add(b);
  const end = () => {
    a.destroy();
    b.destroy();
    streams.delete(b);
  };
  a.on("close", end).on("error", end);
  b.on("close", end).on("error", end);
  a.pipe(b).pipe(a);
}

async function readLimited(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** An HTTP request to the generation's git endpoint on its unix socket, streamed both ways. */
function proxyGit(
  req: IncomingMessage,
  res: ServerResponse,
  socketPath: string,
  pathname: string,
  raw: string,
): void {
  const search = raw.includes("?") ? raw.slice(raw.indexOf("?")) : "";
  const forwarded = http.request(
    {
      socketPath,
      method: req.method,
      path: pathname + search,
      headers: { ...req.headers, host: "git-http" },
    },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  forwarded.on("error", (err) => {
    if (!res.headersSent) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`the generation's git endpoint is not there: ${err.message}\n`);
    } else res.destroy();
  });
  req.pipe(forwarded);
}

/** Unpacks an uploaded tar of node_modules into `dir` (made empty first), at most MAX_PACKAGES_BYTES. */
async function receivePackages(
  req: IncomingMessage,
  res: ServerResponse,
  dir: string,
  answer: (res: ServerResponse, status: number, body: string) => void,
): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const tar = spawn("tar", ["-x", "--no-same-owner", "-C", dir], { stdio: ["pipe", "ignore", "pipe"] });
  let errors = "";
  tar.stderr.on("data", (d: Buffer) => {
    errors += d.toString();
  });
  let size = 0;
  let tooBig = false;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_PACKAGES_BYTES && !tooBig) {
      tooBig = true;
      tar.kill("SIGKILL");
      req.unpipe(tar.stdin);
    }
  });
  req.pipe(tar.stdin);
  tar.stdin.on("error", () => {});
  const code = await new Promise<number | null>((r) => tar.on("close", r));
  if (tooBig) {
    await rm(dir, { recursive: true, force: true });
    return answer(res, 413, `installed packages are at most ${MAX_PACKAGES_BYTES} bytes as a tar`);
  }
  if (code !== 0) return answer(res, 400, `the packages are not a tar: ${errors.trim().slice(0, 300)}`);
  answer(res, 204, "");
}
