import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { supervisorEntry } from "../faults/supervisor-process.ts";
import { makeFixture } from "./git-repo-fixture.ts";

const TRACE = fileURLToPath(new URL("../lab/fixtures/trace-loads.mjs", import.meta.url));
/** TypeScript's compiler, as ts-morph or on its own: a quarter of a second to load. */
const COMPILER = /\/node_modules\/(ts-morph|@ts-morph\/common|typescript)\//;

let dir: string;
let fixture: Awaited<ReturnType<typeof makeFixture>>;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "loom-start-imports-"));
  fixture = await makeFixture();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await fixture?.cleanup();
});

describe("a Supervisor's start", () => {
  it("listens without loading TypeScript's compiler (a generation's diff loads it when asked for)", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        TRACE,
        supervisorEntry(),
        "supervisor",
        "--no-prime",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
      ],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: dir,
          LOOM_REPO_PATH: fixture.repo,
          LOOM_STATE_DIR: path.join(dir, "state"),
          LOOM_RUNTIME: "local",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const listening = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 30_000);
      const check = () => {
        if (/supervisor: listening on http:\/\/127\.0\.0\.1:\d+/.test(out)) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stdout.on("data", check);
      child.stderr.on("data", check);
      child.once("exit", () => resolve(false));
    });
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    expect(listening, out).toBe(true);
    const loads = out.split("\n").filter((l) => l.startsWith("trace: load "));
    expect(loads.length).toBeGreaterThan(0);
    expect(loads.filter((l) => COMPILER.test(l))).toEqual([]);
  }, 60_000);
});
