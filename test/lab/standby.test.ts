import { mkdtemp, rm, stat } from "node:fs/promises";
import { connect, createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { awaitClaim } from "../../src/lab/standby.ts";
import { type LabClaim, STANDBY_SOCKET } from "../../src/shared/lab-claim.ts";
import { claimPooledLab, type PooledLab } from "../../src/supervisor/lifecycle/lab-pool.ts";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "loom-standby-"));
  dirs.push(dir);
  return dir;
}

/** What claimPooledLab needs of a pooled Lab: where its socket folder is. */
const labIn = (dir: string): PooledLab =>
  ({ id: "x", name: "loom-pool-test", sockets: { dir } }) as unknown as PooledLab;

/** Sends one raw line and returns the answer line. */
function send(socketPath: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      answer += d;
    });
    socket.on("end", () => resolve(answer.trim()));
    socket.on("error", reject);
    socket.on("connect", () => socket.write(`${line}\n`));
  });
}

async function listening(socketPath: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (
      await stat(socketPath).then(
        (s) => s.isSocket(),
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the standby socket never appeared");
}

const claim: LabClaim = {
  args: ["lab", "--workspace", "/workspace", "--generation", "7", "--exit"],
  env: { LOOM_LAB_MODEL: "m", LOOM_BIND_HOST: "127.0.0.1" },
};

describe("a pooled Lab's claim (lab-standby ↔ the Supervisor)", () => {
  it("answers probes and bad lines without taking them, takes the first valid claim, then closes its socket", async () => {
    const dir = await folder();
    const socketPath = path.join(dir, STANDBY_SOCKET);
    const waiting = awaitClaim(socketPath);
    await listening(socketPath);
    expect((await stat(socketPath)).mode & 0o777).toBe(0o666);
    // The pool's readiness probe: a connection that sends nothing.
    await new Promise<void>((resolve) => {
      const probe = connect(socketPath, () => {
        probe.destroy();
        resolve();
      });
    });
    expect(JSON.parse(await send(socketPath, "not json"))).toEqual({
      ok: false,
      error: "a claim is one line of JSON {args, env}",
    });
    const notLab = JSON.parse(await send(socketPath, JSON.stringify({ args: ["tool", "x"], env: {} })));
    expect(notLab.ok).toBe(false);
    expect(notLab.error).toContain('a claim runs the "lab" command');
    const secret = JSON.parse(
      await send(socketPath, JSON.stringify({ args: ["lab"], env: { LOOM_LAB_API_KEY: "sk-x" } })),
    );
    expect(secret.ok).toBe(false);
    expect(secret.error).toContain("a claim carries no secret");
    await claimPooledLab(labIn(dir), claim);
    expect(await waiting).toEqual(claim);
    await expect(stat(socketPath)).rejects.toThrow(/ENOENT/);
    // Claimed once: nothing answers on its folder any more.
    await expect(claimPooledLab(labIn(dir), claim)).rejects.toThrow(
      /the pooled Lab loom-pool-test was not claimed: connect ENOENT/,
    );
  });

  it("a socket it cannot listen on is named, with what --socket takes", async () => {
    await expect(awaitClaim("/nonexistent-loom-folder/standby.sock")).rejects.toThrow(
      /^cannot wait for a claim on \/nonexistent-loom-folder\/standby\.sock \((ENOENT|EACCES)\); --socket names a unix socket in a folder this user can write$/,
    );
  });

  it("the Supervisor's side names why a Lab did not take its claim: refused, silent, closed", async () => {
    const dir = await folder();
    const socketPath = path.join(dir, STANDBY_SOCKET);
    let behaviour: "refuse" | "silent" | "close" = "refuse";
    const server = createServer((conn) => {
      if (behaviour === "refuse") conn.end(`${JSON.stringify({ ok: false, error: "busy elsewhere" })}\n`);
      else if (behaviour === "close") conn.end();
      // silent: never answers
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      await expect(claimPooledLab(labIn(dir), claim)).rejects.toThrow(
        "the pooled Lab loom-pool-test was not claimed: busy elsewhere",
      );
      behaviour = "close";
      await expect(claimPooledLab(labIn(dir), claim)).rejects.toThrow(
        "was not claimed: it closed the socket without answering",
      );
      behaviour = "silent";
      await expect(claimPooledLab(labIn(dir), claim, 200)).rejects.toThrow(
        "was not claimed: no answer within 200 ms",
      );
    } finally {
      server.close();
    }
  });
});
