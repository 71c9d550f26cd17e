import { execFile } from "node:child_process";
import { lstat, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  makeLabSockets,
  removeStaleLabSockets,
  writeLabSecrets,
} from "../../src/supervisor/lifecycle/lab-sockets.ts";

/** The per-generation socket folder: private parent, shareable inner folder, stale ones cleaned. */

const run = promisify(execFile);
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "loom-sk-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("lab sockets", () => {
  it("is a 0700 folder holding a 0777 one, short enough for a socket, with a secrets file the image's user can read", async () => {
    const s = await makeLabSockets(12, tmp);
    expect(((await stat(path.dirname(s.dir))).mode & 0o777).toString(8)).toBe("700");
    expect(((await stat(s.dir)).mode & 0o777).toString(8)).toBe("777");
    await writeLabSecrets(s, { apiKey: "k", labToken: "t" });
    expect(((await stat(s.secretsFile)).mode & 0o777).toString(8)).toBe("644");
    // Written once: a file planted before it is refused, not overwritten.
    await expect(writeLabSecrets(s, { apiKey: "k", labToken: "t" })).rejects.toMatchObject({
      code: "EEXIST",
    });
    await s.remove();
    await expect(stat(path.dirname(s.dir))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a temp dir too deep for a unix socket, leaving nothing", async () => {
    const deep = path.join(tmp, "d".repeat(90));
    await run("mkdir", ["-p", deep]);
    await expect(makeLabSockets(1, deep)).rejects.toThrow(/too deep for a unix socket.*TMPDIR/);
    expect(await readdir(deep)).toEqual([]);
  });

  it("removes folders whose proxy is dead or never came, keeps one a live proxy answers on", async () => {
    const live = await makeLabSockets(1, tmp);
    const server: Server = createServer();
    await new Promise<void>((ok) => server.listen(live.modelSocket, ok));
    const dead = await makeLabSockets(2, tmp);
    // A proxy killed with its Supervisor leaves its socket file behind.
    await run(process.execPath, [
      "-e",
      `require("net").createServer().listen(${JSON.stringify(dead.modelSocket)}, () => process.kill(process.pid, "SIGKILL"))`,
    ]).catch(() => {});
    expect((await lstat(dead.modelSocket)).isSocket()).toBe(true);
    const unused = await makeLabSockets(3, tmp);
    // A folder under a minute old stays whatever its socket says: its Supervisor may be mid-start.
    expect(await removeStaleLabSockets(tmp)).toEqual([]);
    expect((await lstat(dead.modelSocket)).isSocket()).toBe(true);
    const fresh = await removeStaleLabSockets(tmp, Date.now() + 61_000);
    expect(fresh.sort()).toEqual([path.dirname(dead.dir)]);
    // Ten minutes later the one whose proxy never opened goes too; the live one still stays.
    expect(await removeStaleLabSockets(tmp, Date.now() + 11 * 60_000)).toEqual([path.dirname(unused.dir)]);
    expect((await lstat(live.modelSocket)).isSocket()).toBe(true);
    await new Promise<void>((ok) => server.close(() => ok()));
    await live.remove();
  });
});
