import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { errorMessage } from "../../shared/errors.ts";
import { appleEnvFile, appleRunArgs, appleWarnings, parseAppleInspect } from "./apple-cli.ts";
import { firstLines, runCli } from "./cli-exec.ts";
import { pollWait } from "./poll-wait.ts";
import {
  type Availability,
  type ContainerInfo,
  DEFAULT_STOP_TIMEOUT_MS,
  type HostBindingInput,
  type HostContainerInfo,
  type HostHandle,
  type HostRuntime,
  parseHostRunSpec,
  type RunSpecInput,
  RuntimeError,
  refuseRelay,
  type WaitOptions,
  type WaitOutcome,
} from "./runtime.ts";

/** Apple's `container` CLI (macOS 26): one lightweight VM per container. */

export interface AppleOptions {
  readonly binary?: string;
  /** For tests; defaults to process.platform. */
  readonly platform?: NodeJS.Platform;
}

const NOT_FOUND = /not ?found|no such/i;

export class AppleRuntime implements HostRuntime {
  readonly name = "apple" as const;
  private readonly bin: string;
  private readonly platform: NodeJS.Platform;

  constructor(options: AppleOptions = {}) {
    this.bin = options.binary ?? "container";
    this.platform = options.platform ?? process.platform;
  }

  async available(): Promise<Availability> {
    if (this.platform !== "darwin")
      return { ok: false, reason: `Apple's container CLI runs only on macOS (this is ${this.platform})` };
    try {
      const r = await runCli(this.bin, ["system", "status"], { timeoutMs: 15_000 });
      // Its VMs cannot share a unix socket with the host, so a Lab keeps a network to be reached on.
      if (r.exitCode === 0)
        return {
          ok: true,
          warning:
            "apple runtime: Labs are NOT network-contained — each runs in its own VM on LOOM_NETWORK with a port, and gets the Lab API key (LOOM_LAB_API_KEY) and base instead of the model proxy's socket; verification steps run on LOOM_NETWORK too",
        };
      return {
        ok: false,
        reason: `${this.bin} system status failed (start it with \`container system start\`): ${firstLines(r.all)}`,
      };
    } catch (err) {
      return { ok: false, reason: errorMessage(err) };
    }
  }

  run(input: RunSpecInput): Promise<HostHandle> {
    return this.runOnHost(input, {});
  }

  async runOnHost(input: RunSpecInput, binding: HostBindingInput): Promise<HostHandle> {
    const spec = parseHostRunSpec(input, binding);
    refuseRelay(spec, "apple");
    const name = spec.name ?? `loom-${randomBytes(6).toString("hex")}`;
    const envText = appleEnvFile(spec.env);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-apple-env-"));
    try {
      const envFile = path.join(dir, "env");
      await fs.writeFile(envFile, envText, { mode: 0o600 });
      const r = await runCli(this.bin, appleRunArgs(spec, name, envFile), { timeoutMs: 180_000 });
      if (r.exitCode !== 0) {
        await runCli(this.bin, ["delete", "--force", name], { timeoutMs: 60_000 }).catch(() => undefined);
        throw new RuntimeError(
          "ENGINE_FAILED",
          `${this.bin} run ${spec.image} failed (exit ${r.exitCode}): ${firstLines(r.all)}`,
        );
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
    // The CLI may remap a published port; the real one is what inspect reports.
    const info = await this.inspect(name);
    return { id: name, name, endpoints: info?.endpoints ?? [], warnings: appleWarnings(spec) };
  }

  async stop(id: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const r = await runCli(this.bin, ["stop", "--time", String(Math.ceil(timeoutMs / 1000)), id], {
      timeoutMs: timeoutMs + 30_000,
    });
    if (r.exitCode === 0) return;
    if (NOT_FOUND.test(r.all))
      throw new RuntimeError("NOT_FOUND", `no apple container ${JSON.stringify(id)}`);
    throw new RuntimeError("ENGINE_FAILED", `${this.bin} stop ${id} failed: ${firstLines(r.all)}`);
  }

  async remove(id: string): Promise<void> {
    const r = await runCli(this.bin, ["delete", "--force", id], { timeoutMs: 60_000 });
    if (r.exitCode !== 0 && !NOT_FOUND.test(r.all))
      throw new RuntimeError("ENGINE_FAILED", `${this.bin} delete ${id} failed: ${firstLines(r.all)}`);
  }

  async inspect(id: string): Promise<HostContainerInfo | undefined> {
    const r = await runCli(this.bin, ["inspect", id], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) {
      if (NOT_FOUND.test(r.all)) return undefined;
      throw new RuntimeError("ENGINE_FAILED", `${this.bin} inspect ${id} failed: ${firstLines(r.all)}`);
    }
    return parseAppleInspect(r.stdout)[0];
  }

  /** Apple's CLI has no wait command: asked every few hundred ms. */
  wait(id: string, options: WaitOptions): Promise<WaitOutcome> {
    return pollWait((c) => this.inspect(c), id, options);
  }

  async logs(id: string, options: { tail?: number } = {}): Promise<string> {
    const args =
      options.tail === undefined
        ? ["logs", id]
        : ["logs", "-n", String(Math.max(0, Math.floor(options.tail))), id];
    const r = await runCli(this.bin, args, { timeoutMs: 30_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.exitCode === 0) return r.all;
    if (NOT_FOUND.test(r.all))
      throw new RuntimeError("NOT_FOUND", `no apple container ${JSON.stringify(id)}`);
    throw new RuntimeError("ENGINE_FAILED", `${this.bin} logs ${id} failed: ${firstLines(r.all)}`);
  }

  async list(labels: Readonly<Record<string, string>>): Promise<ContainerInfo[]> {
    // The CLI has no label filter: list everything as JSON and filter here.
    const r = await runCli(this.bin, ["list", "--all", "--format", "json"], { timeoutMs: 30_000 });
    if (r.exitCode !== 0)
      throw new RuntimeError("ENGINE_FAILED", `${this.bin} list failed: ${firstLines(r.all)}`);
    return parseAppleInspect(r.stdout).filter((c) =>
      Object.entries(labels).every(([k, v]) => c.labels[k] === v),
    );
  }
}
