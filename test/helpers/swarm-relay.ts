import { type ChildProcess, spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";

/**
 * TCP between this process (the host's network namespace) and a swarm cluster's namespaces, carried
 * over unix sockets, which name a file and so cross namespaces: no address outside 127.0.0.0/8 and the
 * cluster's own namespaces is ever used. One relay process per namespace that needs one (`nsenter
 * --net`), told over stdin what to listen on and where to connect; it exits when stdin closes.
 */

export type Where = { host: string; port: number } | { path: string };

// Plain JS, run with `node -e`: the relay must not depend on this project's loader.
const RELAY_CODE = `
const net = require("node:net");
const join = (a, b) => {
  a.pipe(b); b.pipe(a);
  for (const [x, y] of [[a, b], [b, a]]) { x.on("error", () => y.destroy()); x.on("close", () => y.destroy()); }
};
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  const m = JSON.parse(line);
  const server = net.createServer((c) => join(c, net.connect(m.to)));
  server.on("error", (e) => console.log(JSON.stringify({ seq: m.seq, error: e.message })));
  server.listen(m.listen, () => console.log(JSON.stringify({ seq: m.seq, ok: true })));
}).on("close", () => process.exit(0));
`;

function join(a: net.Socket, b: net.Socket): void {
  a.pipe(b);
  b.pipe(a);
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    x.on("error", () => y.destroy());
    x.on("close", () => y.destroy());
  }
}

function listen(server: net.Server, where: Where): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(where, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** The relay process in one network namespace. */
class NetnsRelay {
  private child: ChildProcess | undefined;
  private seq = 0;
  private readonly waiting = new Map<number, (m: { ok?: boolean; error?: string }) => void>();

  constructor(
    private readonly netns: string,
    /** Named on its command line, so a reap of the cluster finds the process. */
    private readonly dir: string,
  ) {}

  private start(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(
      "setpriv",
      ["--pdeathsig", "SIGKILL", "--", "nsenter", `--net=/run/netns/${this.netns}`, "--"].concat([
        process.execPath,
        "-e",
        RELAY_CODE,
        this.dir,
      ]),
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    this.child = child;
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = JSON.parse(line) as { seq: number; ok?: boolean; error?: string };
      this.waiting.get(m.seq)?.(m);
      this.waiting.delete(m.seq);
    });
    child.on("exit", () => {
      for (const done of this.waiting.values()) done({ error: `the relay in ${this.netns} exited` });
      this.waiting.clear();
    });
    return child;
  }

  /** Listens on `at` inside the namespace; each connection is joined to a new one to `to`. */
  async forward(at: Where, to: Where): Promise<void> {
    const child = this.start();
    const seq = ++this.seq;
    const answer = new Promise<{ ok?: boolean; error?: string }>((resolve) => this.waiting.set(seq, resolve));
    child.stdin!.write(`${JSON.stringify({ seq, listen: at, to })}\n`);
    const m = await answer;
    if (!m.ok) throw new Error(`relay in ${this.netns}: cannot listen on ${JSON.stringify(at)}: ${m.error}`);
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin!.end();
      child.kill("SIGKILL");
      await exited;
    }
  }
}

export class ClusterRelays {
  private readonly relays = new Map<string, NetnsRelay>();
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  /** host port → the unix socket in front of host 127.0.0.1:port. */
  private readonly upward = new Map<number, Promise<string>>();
  private count = 0;

  constructor(
    /** The cluster's folder for sockets; relay processes name it on their command lines. */
    private readonly dir: string,
  ) {}

  private relay(netns: string): NetnsRelay {
    let r = this.relays.get(netns);
    if (!r) {
      r = new NetnsRelay(netns, this.dir);
      this.relays.set(netns, r);
    }
    return r;
  }

  private async hostServer(at: Where, to: Where): Promise<net.Server> {
    await fs.mkdir(this.dir, { recursive: true });
    if ("path" in at) await fs.rm(at.path, { force: true });
    const server = net.createServer((c) => {
      const out = net.connect(to);
      for (const s of [c, out]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
      }
      join(c, out);
    });
    await listen(server, at);
    this.servers.push(server);
    return server;
  }

  /** A unix socket in this folder whose connections go to this host's 127.0.0.1:`port`. */
  private towardHost(port: number): Promise<string> {
    let sock = this.upward.get(port);
    if (!sock) {
      const p = path.join(this.dir, `up-${port}.sock`);
      sock = this.hostServer({ path: p }, { host: "127.0.0.1", port }).then(() => p);
      sock.catch(() => this.upward.delete(port));
      this.upward.set(port, sock);
    }
    return sock;
  }

  /** Inside namespace `netns`, `at` leads to this host's 127.0.0.1:`port`. */
  async exposeHostPort(netns: string, at: { host: string; port: number }, port: number): Promise<void> {
    await this.relay(netns).forward(at, { path: await this.towardHost(port) });
  }

  /** On this host, `at` (default 127.0.0.1, any port) leads to `to` as seen from namespace `netns`. */
  async reach(
    netns: string,
    to: { host: string; port: number },
    at: { host: string; port: number } = { host: "127.0.0.1", port: 0 },
  ): Promise<{ host: string; port: number }> {
    const sock = path.join(this.dir, `down-${++this.count}.sock`);
    await this.relay(netns).forward({ path: sock }, to);
    const server = await this.hostServer(at, { path: sock });
    return { host: at.host, port: (server.address() as net.AddressInfo).port };
  }

  async close(): Promise<void> {
    for (const s of this.servers.splice(0)) s.close();
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.relays.values()].map((r) => r.close()));
    this.relays.clear();
    this.upward.clear();
  }
}
