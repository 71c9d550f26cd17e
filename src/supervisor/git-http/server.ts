import type { ChildProcess } from "node:child_process";
import { chmod, rm } from "node:fs/promises";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import path from "node:path";
import { z } from "zod";
import { tryGit } from "../../shared/git/run-git.ts";
import { formatIssues } from "../../shared/zod-issues.ts";
import { plain, readCommands, refuse } from "./answers.ts";
import { baseEnv, findHttpBackend, runBackend } from "./backend.ts";
import { basicToken, GitHttpError, type Grant, type GrantInput, Grants } from "./grants.ts";
import { refusePush } from "./push-commands.ts";
import { type GitCall, isService, REPO_PATH, route, type Service } from "./routes.ts";

export const DEFAULT_MAX_PUSH_BYTES = 256 * 1024 * 1024;
/** A fetch request is wants and haves: a few MB even for a large history. */
const MAX_FETCH_REQUEST_BYTES = 32 * 1024 * 1024;
const IDLE_TIMEOUT_MS = 10 * 60_000;

const Options = z
  .object({
    repoPath: z.string().min(1),
    host: z.string().min(1).default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(0),
    maxPushBytes: z.number().int().positive().default(DEFAULT_MAX_PUSH_BYTES),
    log: z.custom<(line: string) => void>((v) => typeof v === "function").optional(),
  })
  .strict();
export type GitHttpOptions = z.input<typeof Options>;

export interface GitHttpServer {
  /** The repository's URL for `git clone` (`http://127.0.0.1:<port>/loom.git`); no credentials in it. */
  readonly url: string;
  /** A new token (HTTP Basic, user `loom`): fetch, and push of `lab/gen-N` only when `push` names it. */
  grant(input: GrantInput): string;
  /** Withdraws a token; true when it was granted. Requests already running finish. */
  revoke(token: string): boolean;
  /**
   * Serves the same endpoint on a unix socket too (e.g. in a generation's socket folder, for a Lab with
   * no network that bridges its own loopback to it); `mode` defaults to 0600. close() of the endpoint
   * closes it as well.
   */
  listenSocket(socketPath: string, mode?: number): Promise<{ close(): Promise<void> }>;
  /** Stops listening, ends every running git process and waits for them. */
  close(): Promise<void>;
}

/**
 * Serves one repository over git's smart HTTP protocol (`git http-backend` per request) to holders of
 * a token: any token fetches; a push is taken only from a token whose grant names a branch, and only
 * when every ref it updates is that branch (no other ref, no tag, no deletion).
 */
export async function startGitHttp(options: GitHttpOptions): Promise<GitHttpServer> {
  const parsed = Options.safeParse(options);
  if (!parsed.success) {
    throw new GitHttpError(`startGitHttp: ${formatIssues(parsed.error, { root: "(options)" })}`);
  }
  const { repoPath, host, port, maxPushBytes, log } = parsed.data;
  const probe = await tryGit(repoPath, ["rev-parse", "--absolute-git-dir"]).catch((err: Error) => ({
    exitCode: -1,
    stdout: "",
    stderr: err.message,
  }));
  if (probe.exitCode !== 0) {
    throw new GitHttpError(
      `startGitHttp: repoPath ${repoPath} is not a git repository (${probe.stderr.trim() || "git found none"}); pass the Supervisor's repository`,
    );
  }
  const program = findHttpBackend();
  const grants = new Grants();
  const running = new Set<ChildProcess>();
  const sockets = new Set<Socket>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://git-http");
    const routed = route(req.method, url.pathname);
    if (routed.kind === "not_found") {
      return plain(
        req,
        res,
        404,
        `no such path ${url.pathname}; clone ${REPO_PATH} with git's smart HTTP protocol`,
      );
    }
    if (routed.kind === "wrong_method") {
      return plain(req, res, 405, `${req.method} is not served at ${url.pathname}; use ${routed.allow}`, {
        allow: routed.allow,
      });
    }
    const credentials = basicToken(req.headers.authorization);
    const grant = "token" in credentials ? grants.lookup(credentials.token) : undefined;
    if (!grant) {
      const why =
        "why" in credentials ? credentials.why : "the token is not valid (never granted, or revoked)";
      return plain(
        req,
        res,
        401,
        `authentication failed: ${why}; send user "loom" and the generation's token`,
        {
          "www-authenticate": 'Basic realm="loom", charset="UTF-8"',
        },
      );
    }
    const service = serviceOf(routed.call, url);
    if (service === undefined) {
      return plain(
        req,
        res,
        400,
        `service=${url.searchParams.get("service") ?? "(none)"} is not served; only git's smart HTTP protocol (git-upload-pack, git-receive-pack) is`,
      );
    }
    if (service === "git-receive-pack" && grant.pushRef === undefined) {
      return plain(
        req,
        res,
        403,
        `this token may fetch only: generation ${grant.generation}'s grant names no branch to push`,
      );
    }
    const env = cgiEnv(req, url, routed.call, grant, repoPath);
    const maxBodyBytes = service === "git-receive-pack" ? maxPushBytes : MAX_FETCH_REQUEST_BYTES;
    const tooLarge = (r: ServerResponse) =>
      plain(
        req,
        r,
        413,
        `the ${service === "git-receive-pack" ? "push" : "request"} is larger than the limit of ${maxBodyBytes} bytes`,
      );
    if (routed.call.kind === "rpc") {
      const length = Number(req.headers["content-length"] ?? 0);
      if (length > maxBodyBytes) return tooLarge(res);
    }
    let prefix: Buffer | undefined;
    if (routed.call.kind === "rpc" && service === "git-receive-pack") {
      const encoding = req.headers["content-encoding"];
      // A compressed body would hide its commands from the check below.
      if (encoding !== undefined && encoding !== "identity") {
        return plain(
          req,
          res,
          415,
          `a push body with Content-Encoding ${encoding} is not accepted; send it uncompressed`,
        );
      }
      const read = await readCommands(req);
      if (read.section.kind !== "complete") {
        const why =
          read.section.kind === "invalid" ? read.section.why : "the body ended inside the command list";
        return plain(req, res, 400, `not a push this endpoint accepts: ${why}`);
      }
      const refused = refusePush(read.section.commands, grant.pushRef as string);
      if (refused.length > 0) {
        log?.(
          `git-http: gen-${grant.generation}: push refused: ${refused.map((r) => `${r.ref}: ${r.reason}`).join("; ")}`,
        );
        return refuse(req, res, read.section.capabilities, refused, maxPushBytes - read.bytes.length);
      }
      prefix = read.bytes;
    }
    await runBackend(req, res, {
      program,
      env,
      prefix,
      maxBodyBytes,
      tooLarge,
      holdUntilBodyEnds: service === "git-receive-pack",
      running,
      log,
    });
  };

  const servers = new Set<http.Server>();
  let closing: Promise<void> | undefined;
  const makeServer = (): http.Server => {
    const server = http.createServer((req, res) => {
      handle(req, res).catch((err: Error) => {
        log?.(`git-http: ${req.method} ${req.url}: ${err.message}`);
        if (!res.headersSent) plain(req, res, 500, "the git endpoint failed; see the Supervisor's log");
        else res.destroy();
      });
    });
    // A push of a large pack may take minutes in all, so no whole-request limit; a connection that
    // sends and receives nothing for this long is cut, which ends its git process.
    server.requestTimeout = 0;
    server.setTimeout(IDLE_TIMEOUT_MS, (socket) => socket.destroy());
    server.on("connection", (s: Socket) => {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    });
    servers.add(server);
    return server;
  };
  const server = makeServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new GitHttpError(
          `startGitHttp: cannot listen on ${host}:${port}: ${err.code ?? err.message}; pass another port (0 picks a free one)`,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  const closeServer = (srv: http.Server) =>
    new Promise<void>((resolve) => {
      servers.delete(srv);
      srv.close(() => resolve());
    });
  return {
    url: `http://${shownHost}:${address.port}${REPO_PATH}`,
    grant: (input) => grants.grant(input),
    revoke: (token) => grants.revoke(token),
    listenSocket: async (socketPath, mode = 0o600) => {
      if (closing) throw new GitHttpError("listenSocket: the endpoint is closed");
      if (typeof socketPath !== "string" || !path.isAbsolute(socketPath)) {
        throw new GitHttpError(
          `listenSocket: socketPath ${JSON.stringify(socketPath)} is not accepted; pass an absolute path`,
        );
      }
      // One left by an earlier run at the same path would make listen fail.
      await rm(socketPath, { force: true });
      const srv = makeServer();
      await new Promise<void>((resolve, reject) => {
        srv.once("error", (err: NodeJS.ErrnoException) => {
          servers.delete(srv);
          reject(
            new GitHttpError(`listenSocket: cannot listen on ${socketPath}: ${err.code ?? err.message}`),
          );
        });
        srv.listen(socketPath, () => resolve());
      });
      await chmod(socketPath, mode);
      return {
        close: async () => {
          await closeServer(srv);
          await rm(socketPath, { force: true });
        },
      };
    },
    close: () => {
      closing ??= (async () => {
        const closed = [...servers].map(closeServer);
        const exits = [...running].map(
          (child) => new Promise<void>((resolve) => child.once("close", () => resolve())),
        );
        for (const child of running) {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
          } catch {}
        }
        for (const s of sockets) s.destroy();
        await Promise.all([...closed, ...exits]);
      })();
      return closing;
    },
  };
}

function serviceOf(call: GitCall, url: URL): Service | undefined {
  if (call.kind === "rpc") return call.service;
  const service = url.searchParams.get("service");
  return isService(service) ? service : undefined;
}

/** The CGI variables git-http-backend reads, and the git configuration every request runs with. */
function cgiEnv(
  req: IncomingMessage,
  url: URL,
  call: GitCall,
  grant: Grant,
  repoPath: string,
): Record<string, string> {
  const config: [string, string][] = [
    // Receive-pack is on only for a token that may push (the check above already refused the rest).
    ["http.receivepack", grant.pushRef ? "true" : "false"],
    ["http.getanyfile", "false"],
    // Objects from a Lab are checked before they enter the repository.
    ["receive.fsckObjects", "true"],
    ["receive.denyDeletes", "true"],
    // No `git gc --auto` left running after a push.
    ["receive.autogc", "false"],
    ["gc.auto", "0"],
  ];
  const env: Record<string, string> = {
    ...baseEnv(),
    GIT_PROJECT_ROOT: repoPath,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: call.pathInfo,
    REQUEST_METHOD: req.method ?? "GET",
    QUERY_STRING: url.search.replace(/^\?/, ""),
    REMOTE_ADDR: req.socket.remoteAddress ?? "",
    GIT_CONFIG_COUNT: String(config.length),
  };
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  if (grant.pushRef) env.REMOTE_USER = `loom-gen-${grant.generation}`;
  const type = req.headers["content-type"];
  if (type) env.CONTENT_TYPE = type;
  const length = req.headers["content-length"];
  if (length && /^\d+$/.test(length)) env.CONTENT_LENGTH = length;
  const encoding = req.headers["content-encoding"];
  if (encoding) env.HTTP_CONTENT_ENCODING = encoding;
  const protocol = req.headers["git-protocol"];
  // Protocol v2 for fetches; only the plain `version=2`-style values git sends.
  if (typeof protocol === "string" && /^[\w.=:-]{1,100}$/.test(protocol)) env.GIT_PROTOCOL = protocol;
  return env;
}
