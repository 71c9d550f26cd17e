import { type ChildProcess, spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";

/**
 * TCP between this process (the host's network namespace) and a swarm cluster's hub namespace,
 * carried over unix sockets, which name a file and so cross namespaces: no address outside 127.0.0.0/8
 * or the cluster's own namespaces is ever used. One relay process runs in the hub (`nsenter --net`);
 * it is told over stdin what to listen on, and exits when stdin closes.
 */

type Where = { host: string; port: number } | { path: string };

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

export class HubRelay {
  private child: ChildProcess | undefined;
  private seq = 0;
  private readonly waiting = new Map<number, (m: { ok?: boolean; error?: string }) => void>();
  private readonly servers: net.Server[] = [];

  constructor(
    private readonly netnsName: string,
    private readonly dir: string,
    /** The hub's address on the cluster network (where nodes reach exposed ports). */
    readonly hubAddress: string,
  ) {}

  private async start(): Promise<ChildProcess> {
    if (this.child) return this.child;
    await fs.mkdir(this.dir, { recursive: true });
    // The folder is named on the command line, so a reap of the cluster finds this process too.
    const child = spawn(
      "setpriv",
      [
        "--pdeathsig",
        "SIGKILL",
        "--",
        "nsenter",
        `--net=/run/netns/${this.netnsName}`,
        "--",
        process.execPath,
        "-e",
        RELAY_CODE,
        this.dir,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    this.child = child;
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = JSON.parse(line) as { seq: number; ok?: boolean; error?: string };
      this.waiting.get(m.seq)?.(m);
      this.waiting.delete(m.seq);
    });
    child.on("exit", () => {
      for (const done of this.waiting.values()) done({ error: "the hub relay exited" });
      this.waiting.clear();
    });
    return child;
  }

  private async order(listenAt: Where, to: Where): Promise<void> {
    const child = await this.start();
    const seq = ++this.seq;
    const answer = new Promise<{ ok?: boolean; error?: string }>((resolve) => this.waiting.set(seq, resolve));
    child.stdin!.write(`${JSON.stringify({ seq, listen: listenAt, to })}\n`);
    const m = await answer;
    if (!m.ok) throw new Error(`hub relay: cannot listen on ${JSON.stringify(listenAt)}: ${m.error}`);
  }

  /** Nodes reach 127.0.0.1:`port` of this host at `hubAddress`:`port`. */
  async exposeHostPort(port: number): Promise<{ host: string; port: number }> {
    await fs.mkdir(this.dir, { recursive: true });
    const sock = path.join(this.dir, `up-${port}.sock`);
    await fs.rm(sock, { force: true });
    const server = net.createServer((c) => join(c, net.connect({ host: "127.0.0.1", port })));
    await listen(server, { path: sock });
    this.servers.push(server);
    await this.order({ host: this.hubAddress, port }, { path: sock });
    return { host: this.hubAddress, port };
  }

  /** This host reaches `address`:`port` on the cluster network at the returned 127.0.0.1 port. */
  async reach(address: string, port: number): Promise<{ host: "127.0.0.1"; port: number }> {
    const sock = path.join(this.dir, `down-${++this.seq}.sock`);
    await this.order({ path: sock }, { host: address, port });
    const server = net.createServer((c) => join(c, net.connect({ path: sock })));
    await listen(server, { host: "127.0.0.1", port: 0 });
    this.servers.push(server);
    return { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
  }

  async close(): Promise<void> {
    for (const s of this.servers.splice(0)) s.close();
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
