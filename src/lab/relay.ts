import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  access,
  chmod,
  chown,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import http, { type IncomingMessage } from "node:http";
import net, { type Socket } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { execa } from "execa";

/**
 * `loom lab-relay`: what runs first in a Lab task on a swarm node, as root on the node's network, in
 * front of the jailed Lab. It rebuilds, inside the container, the socket folder a mounted Lab would see,
 * from the Supervisor's gateway (src/supervisor/gateway/gateway.ts) and nothing else:
 *
 *   1. GET /v1/hello: the git token, what to check out, the secrets file (written for the Lab's user);
 *   2. the workspace: `git clone` of lab/gen-N (a verification step: of the candidate's commit) from the
 *      task's own git endpoint; the packages from /v1/packages, kept per node under the packages key;
 *      a verification step then runs its command and ends here;
 *   3. model.sock: each connection a stream to the model proxy (/v1/connect/model);
 *      lab.sock: each connection the Supervisor makes on its side arrives as `open <id>` on the control
 *      stream, and is answered by a stream back (/v1/back/<id>) piped to the Lab's own lab.sock;
 *   4. runs the command (the jail, then the Lab) without the relay's variables; passes SIGTERM on;
 *   5. when it ends: pushes lab/gen-N (the endpoint takes no other ref) and PUTs the Lab's report.
 *
 * The Lab itself has no network: the relay is its only way out, and holds the gateway token the Lab
 * never sees.
 */

export interface RelayOptions {
  readonly url: string;
  readonly token: string;
  readonly workspace: string;
  readonly sockets: string;
  readonly uid: number;
  readonly gid: number;
  /** Where packages are kept per key on this node (a named volume under swarm). */
  readonly cache: string;
  readonly command: readonly string[];
  readonly log: (line: string) => void;
}

interface Hello {
  key: string;
  gitToken: string;
  checkout: { branch: string } | { commit: string };
  /** A Lab's secrets file; null for a verification step (no secrets, no tunnels, nothing pushed). */
  secrets: string | null;
  packages: { key: string; at: string } | null;
  /** An install step: send what the command installed in node_modules back when it succeeds. */
  upload: boolean;
}

/** Caches tools write below node_modules: a step's clone keeps its own, writable (prepare-steps.ts). */
const OWN_CACHES = new Set([".cache", ".vite", ".vite-temp", ".vitest"]);

export const RELAY_ENV = ["LOOM_RELAY_URL", "LOOM_RELAY_TOKEN"] as const;
/** Mounted read-only into a mounted Lab (lab-spec.ts); the relay makes them read-only the same way. */
const READ_ONLY = ["schemas", "acceptance"] as const;

function request(o: RelayOptions, method: string, p: string, body?: Buffer): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${o.url}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${o.token}`,
        ...(body ? { "content-type": "application/json", "content-length": body.length } : {}),
      },
    });
    req.on("response", resolve).on("error", reject);
    req.end(body);
  });
}

async function text(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

/** An upgraded byte stream to the gateway. */
function stream(o: RelayOptions, p: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${o.url}${p}`, {
      headers: { authorization: `Bearer ${o.token}`, connection: "upgrade", upgrade: "loom-stream" },
    });
    req.on("upgrade", (_res, socket: Socket, head: Buffer) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.on("response", async (res) =>
      reject(new Error(`${p}: ${res.statusCode} ${(await text(res)).trim()}`)),
    );
    req.on("error", reject);
    req.end();
  });
}

function pipeBoth(a: Socket, b: Socket): void {
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on("close", end).on("error", end);
  b.on("close", end).on("error", end);
  a.pipe(b).pipe(a);
}

const gitEnv = (token: string): Record<string, string> => ({
  GIT_CONFIG_COUNT: "1",
  GIT_CONFIG_KEY_0: "http.extraHeader",
  GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`loom:${token}`).toString("base64")}`,
  GIT_TERMINAL_PROMPT: "0",
});

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/**
 * The packages of this key, fetched once per node. `at` "node_modules": the workspace's node_modules
 * links to them (a Lab); a path: they appear there, and the workspace's node_modules is a folder of links
 * into it (a verification step, as prepare-steps.ts makes it under docker).
 */
async function packages(o: RelayOptions, key: string, at: string): Promise<void> {
  const safe = key.replace(/[^A-Za-z0-9_.-]/g, "_");
  const kept = path.join(o.cache, safe);
  if (!(await exists(path.join(kept, ".complete")))) {
    const tmp = `${kept}.tmp-${randomBytes(4).toString("hex")}`;
    await mkdir(path.join(tmp, "node_modules"), { recursive: true });
    const res = await request(o, "GET", "/v1/packages");
    if (res.statusCode !== 200) throw new Error(`packages: ${res.statusCode} ${(await text(res)).trim()}`);
    const tar = spawn("tar", ["-C", path.join(tmp, "node_modules"), "-x"], {
      stdio: ["pipe", "ignore", "inherit"],
    });
    res.pipe(tar.stdin);
    const code = await new Promise<number | null>((r) => tar.on("close", r));
    if (code !== 0) throw new Error(`packages: tar exited ${code}`);
    await writeFile(path.join(tmp, ".complete"), "");
    // Another task on this node may have finished first: its copy is as good.
    await rename(tmp, kept).catch(() => rm(tmp, { recursive: true, force: true }));
  }
  const modules = path.join(o.workspace, "node_modules");
  await rm(modules, { recursive: true, force: true });
  if (at === "node_modules") {
    await symlink(path.join(kept, "node_modules"), modules);
    return;
  }
  await mkdir(path.dirname(at), { recursive: true });
  await rm(at, { recursive: true, force: true });
  await symlink(path.join(kept, "node_modules"), at);
  await mkdir(modules);
  for (const name of await readdir(path.join(kept, "node_modules"))) {
    if (!OWN_CACHES.has(name)) await symlink(path.posix.join(at, name), path.join(modules, name));
  }
}

export async function runRelay(o: RelayOptions): Promise<number> {
  const started = Date.now();
  const helloRes = await request(o, "GET", "/v1/hello");
  const helloText = await text(helloRes);
  if (helloRes.statusCode !== 200) throw new Error(`the gateway refused the relay: ${helloText.trim()}`);
  const hello = JSON.parse(helloText) as Hello;
  const gitUrl = `${o.url}/v1/git/${hello.key}/loom.git`;
  const branch = "branch" in hello.checkout ? hello.checkout.branch : undefined;

  if (hello.secrets !== null) {
    // The socket folder, as a mounted one would be: the Lab's user creates lab.sock there.
    await mkdir(o.sockets, { recursive: true });
    await chown(o.sockets, o.uid, o.gid);
    await chmod(o.sockets, 0o755);
    const secrets = path.join(o.sockets, "secrets.json");
    await writeFile(secrets, hello.secrets, { mode: 0o600 });
    await chown(secrets, o.uid, o.gid);
  }

  await mkdir(o.workspace, { recursive: true });
  const git = (args: string[]) => execa("git", args, { env: gitEnv(hello.gitToken) });
  if (branch) await git(["clone", "-q", "--branch", branch, "--single-branch", gitUrl, o.workspace]);
  else if ("commit" in hello.checkout) {
    await git(["clone", "-q", "--no-checkout", gitUrl, o.workspace]);
    await git(["-C", o.workspace, "checkout", "-q", "--detach", hello.checkout.commit]);
    await git(["-C", o.workspace, "remote", "remove", "origin"]);
  }
  if (hello.packages) await packages(o, hello.packages.key, hello.packages.at);
  await execa("chown", ["-R", "--no-dereference", `${o.uid}:${o.gid}`, o.workspace]);
  if (hello.secrets === null) {
    // A verification step: its clone, writable as under docker, and the command; nothing goes back but
    // an install step's node_modules.
    o.log(`relay: ${hello.key} clone ready in ${Date.now() - started} ms`);
    const stepCode = await runCommand(o);
    if (hello.upload && stepCode === 0) await uploadPackages(o);
    return stepCode;
  }
  // The fixed points stay as a mounted Lab has them: read-only mounts, which the Lab can neither write
  // nor move aside (the relay still holds CAP_SYS_ADMIN here; the Lab will hold nothing).
  for (const fixed of READ_ONLY) {
    const dir = path.join(o.workspace, fixed);
    await mkdir(dir, { recursive: true });
    const bind = await execa("mount", ["--bind", dir, dir], { reject: false });
    const ro =
      bind.exitCode === 0 ? await execa("mount", ["-o", "remount,bind,ro", dir], { reject: false }) : bind;
    if (ro.exitCode !== 0)
      throw new Error(
        `lab-relay: cannot make ${fixed}/ read-only (${(ro.stderr || ro.stdout).trim()}); the task needs CAP_SYS_ADMIN and no AppArmor profile that denies mount`,
      );
  }
  o.log(`relay: ${hello.key} workspace ready in ${Date.now() - started} ms`);

  const modelSock = path.join(o.sockets, "model.sock");
  const model = net.createServer((conn) => {
    stream(o, "/v1/connect/model").then(
      (up) => pipeBoth(conn, up),
      () => conn.destroy(),
    );
  });
  await new Promise<void>((r) => model.listen(modelSock, () => r()));
  await chmod(modelSock, 0o666);

  const control = await stream(o, "/v1/accept");
  createInterface({ input: control }).on("line", (line) => {
    const id = /^open (\d+)$/.exec(line)?.[1];
    if (!id) return;
    stream(o, `/v1/back/${id}`).then(
      (back) => {
        const lab = net.connect(path.join(o.sockets, "lab.sock"));
        lab.once("connect", () => pipeBoth(back, lab));
        lab.once("error", () => back.destroy());
      },
      () => {},
    );
  });
  control.on("error", () => {});

  const code = await runCommand(o);

  // What the Lab committed goes back through the only ref it may push; then its report.
  const push = await execa(
    "git",
    ["-C", o.workspace, "push", "-q", gitUrl, `refs/heads/${branch}:refs/heads/${branch}`],
    { env: gitEnv(hello.gitToken), reject: false },
  );
  if (push.exitCode !== 0) o.log(`relay: push of ${branch} failed: ${push.stderr.trim()}`);
  const report = await readFile(path.join(o.workspace, ".loom", "report.json")).catch(() => undefined);
  if (report) {
    const res = await request(o, "PUT", "/v1/report", report);
    if (res.statusCode !== 204) o.log(`relay: the report was refused: ${(await text(res)).trim()}`);
    else res.resume();
  }
  control.destroy();
  model.close();
  return code;
}

/** The command (the jail, then the task) without the relay's variables; SIGTERM and SIGINT passed on. */
async function runCommand(o: RelayOptions): Promise<number> {
  const env = { ...process.env };
  for (const k of RELAY_ENV) delete env[k];
  const [program, ...args] = o.command;
  if (!program) throw new Error("lab-relay: no command after --");
  const child = spawn(program, args, { stdio: "inherit", env, cwd: o.workspace });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  process.on("SIGTERM", forward("SIGTERM"));
  process.on("SIGINT", forward("SIGINT"));
  return new Promise<number>((resolve) =>
    child.on("close", (c, sig) => resolve(c ?? (sig === "SIGKILL" ? 137 : 143))),
  );
}

/** An install step's node_modules, as a tar streamed to the gateway (`PUT /v1/packages`). */
async function uploadPackages(o: RelayOptions): Promise<void> {
  const dir = path.join(o.workspace, "node_modules");
  if (!(await exists(dir))) return;
  const tar = spawn("tar", ["-C", dir, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    const req = http.request(`${o.url}/v1/packages`, {
      method: "PUT",
      headers: { authorization: `Bearer ${o.token}`, "content-type": "application/x-tar" },
    });
    req.on("response", async (res) => {
      if (res.statusCode === 204) {
        res.resume();
        return resolve();
      }
      reject(new Error(`the installed packages were refused: ${res.statusCode} ${(await text(res)).trim()}`));
    });
    req.on("error", reject);
    tar.stdout.pipe(req);
  });
}
