import { errorMessage } from "../../shared/errors.ts";
import { firstLines, runCli } from "./cli-exec.ts";
import { engineEnv, engineListArgs, engineRunArgs } from "./engine-args.ts";
import { BUILTIN_NETWORKS, type EngineFlavor, knownEndpoints, planEngineRun } from "./engine-body.ts";
import { parseEngineInspect } from "./engine-inspect.ts";
import { cachedImageFacts } from "./jail.ts";
import {
  type Availability,
  type ContainerInfo,
  DEFAULT_STOP_TIMEOUT_MS,
  type HostBindingInput,
  type HostContainerInfo,
  type HostHandle,
  type HostRuntime,
  type RunSpecInput,
  RuntimeError,
  type WaitOptions,
  type WaitOutcome,
} from "./runtime.ts";

/** Docker and podman share one CLI shape; this is that shape, parameterised by the binary. */

export interface EngineOptions {
  /** The CLI to run; defaults to the engine's name on PATH. */
  readonly binary?: string;
}

const NOT_FOUND = /no such (container|object)|no container with name or id/i;

export class EngineCliRuntime implements HostRuntime {
  readonly name: "docker" | "podman";
  private readonly bin: string;
  private readonly flavor: EngineFlavor;
  private readonly networksReady = new Set<string>();

  constructor(name: "docker" | "podman", flavor: EngineFlavor, options: EngineOptions = {}) {
    this.name = name;
    this.bin = options.binary ?? name;
    this.flavor = flavor;
  }

  async available(): Promise<Availability> {
    try {
      const r = await runCli(this.bin, ["info", "--format", "{{json .}}"], { timeoutMs: 15_000 });
      if (r.exitCode === 0) return { ok: true };
      return { ok: false, reason: `${this.bin} info failed: ${firstLines(r.stderr || r.stdout)}` };
    } catch (err) {
      return { ok: false, reason: errorMessage(err) };
    }
  }

  run(input: RunSpecInput): Promise<HostHandle> {
    return this.runOnHost(input, {});
  }

  async runOnHost(input: RunSpecInput, binding: HostBindingInput): Promise<HostHandle> {
    const plan = await planEngineRun(input, binding, {
      name: this.name,
      flavor: this.flavor,
      imageFacts: this.imageFacts,
    });
    const { spec, name, body } = plan;
    if (spec.network && !plan.task) await this.ensureNetwork(spec.network);
    const r = await runCli(this.bin, engineRunArgs(body, name), { env: engineEnv(body), timeoutMs: 120_000 });
    if (r.exitCode !== 0) {
      // `run` can fail after creating the container (bad command, port clash): never leave it behind.
      await runCli(this.bin, ["rm", "-f", name], { timeoutMs: 30_000 }).catch(() => undefined);
      throw new RuntimeError(
        "ENGINE_FAILED",
        `${this.bin} run ${spec.image} failed (exit ${r.exitCode}): ${firstLines(r.stderr || r.stdout)}`,
      );
    }
    const id = r.stdout.trim().split("\n").pop() ?? name;
    const endpoints = knownEndpoints(plan) ?? (await this.inspect(id))?.endpoints ?? [];
    return { id, name, endpoints, warnings: [] };
  }

  async stop(id: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const seconds = Math.max(0, Math.ceil(timeoutMs / 1000));
    const r = await runCli(this.bin, ["stop", "-t", String(seconds), id], { timeoutMs: timeoutMs + 30_000 });
    if (r.exitCode === 0) return;
    if (NOT_FOUND.test(r.stderr))
      throw new RuntimeError("NOT_FOUND", `no ${this.name} container ${JSON.stringify(id)}`);
    throw new RuntimeError("ENGINE_FAILED", `${this.bin} stop ${id} failed: ${firstLines(r.stderr)}`);
  }

  async remove(id: string): Promise<void> {
    const r = await runCli(this.bin, ["rm", "-f", "-v", id], { timeoutMs: 60_000 });
    if (r.exitCode === 0 || NOT_FOUND.test(r.stderr)) return;
    throw new RuntimeError("ENGINE_FAILED", `${this.bin} rm ${id} failed: ${firstLines(r.stderr)}`);
  }

  async inspect(id: string): Promise<HostContainerInfo | undefined> {
    const r = await runCli(this.bin, ["inspect", "--type", "container", id], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) {
      if (NOT_FOUND.test(r.stderr)) return undefined;
      throw new RuntimeError("ENGINE_FAILED", `${this.bin} inspect ${id} failed: ${firstLines(r.stderr)}`);
    }
    return parseEngineInspect(r.stdout)[0];
  }

  /** One `wait` process that answers when the container exits, instead of an inspect per poll. */
  async wait(id: string, options: WaitOptions): Promise<WaitOutcome> {
    const timeout = AbortSignal.timeout(Math.max(0, options.timeoutMs));
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let r: Awaited<ReturnType<typeof runCli>>;
    try {
      r = await runCli(this.bin, ["wait", id], { timeoutMs: options.timeoutMs + 30_000, signal });
    } catch (err) {
      if (!(err instanceof RuntimeError) || err.code !== "ABORTED") throw err;
      return options.signal?.aborted ? { kind: "aborted" } : { kind: "timeout" };
    }
    if (r.exitCode === 0) {
      const code = Number(r.stdout.trim().split("\n").pop());
      return { kind: "exited", exitCode: Number.isInteger(code) ? code : undefined };
    }
    if (NOT_FOUND.test(r.stderr)) return { kind: "gone" };
    throw new RuntimeError("ENGINE_FAILED", `${this.bin} wait ${id} failed: ${firstLines(r.stderr)}`);
  }

  async logs(id: string, options: { tail?: number } = {}): Promise<string> {
    const args = ["logs"];
    if (options.tail !== undefined) args.push("--tail", String(Math.max(0, Math.floor(options.tail))));
    const r = await runCli(this.bin, [...args, id], { timeoutMs: 30_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.exitCode === 0) return r.all;
    if (NOT_FOUND.test(r.stderr))
      throw new RuntimeError("NOT_FOUND", `no ${this.name} container ${JSON.stringify(id)}`);
    throw new RuntimeError("ENGINE_FAILED", `${this.bin} logs ${id} failed: ${firstLines(r.stderr)}`);
  }

  async list(labels: Readonly<Record<string, string>>): Promise<ContainerInfo[]> {
    const ps = await runCli(this.bin, engineListArgs(labels), { timeoutMs: 30_000 });
    if (ps.exitCode !== 0)
      throw new RuntimeError("ENGINE_FAILED", `${this.bin} ps failed: ${firstLines(ps.stderr)}`);
    const ids = ps.stdout
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids.length === 0) return [];
    const r = await runCli(this.bin, ["inspect", "--type", "container", ...ids], { timeoutMs: 30_000 });
    // A container removed between ps and inspect makes inspect exit 1 but still print the others.
    if (r.exitCode !== 0 && !r.stdout.trim().startsWith("[")) {
      throw new RuntimeError("ENGINE_FAILED", `${this.bin} inspect failed: ${firstLines(r.stderr)}`);
    }
    return parseEngineInspect(r.stdout).filter((c) =>
      Object.entries(labels).every(([k, v]) => c.labels[k] === v),
    );
  }

  /** The image's entrypoint and user, which the jail needs to run its command as the image would. */
  private readonly imageFacts = cachedImageFacts(async (image) => {
    const r = await runCli(this.bin, ["image", "inspect", "--format", "{{json .Config}}", image], {
      timeoutMs: 30_000,
    });
    if (r.exitCode !== 0)
      throw new RuntimeError("INVALID_SPEC", `${this.bin} has no image ${image}: ${firstLines(r.stderr)}`);
    const config = JSON.parse(r.stdout) as { Entrypoint?: string[] | null; User?: string };
    return { entrypoint: config.Entrypoint ?? [], user: config.User ?? "" };
  });

  /** A named user network must exist before `run`; create it (labelled as Loom's) the first time. */
  private async ensureNetwork(network: string): Promise<void> {
    if (BUILTIN_NETWORKS.has(network) || this.networksReady.has(network)) return;
    const found = await runCli(this.bin, ["network", "inspect", network], { timeoutMs: 30_000 });
    if (found.exitCode !== 0) {
      const made = await runCli(this.bin, ["network", "create", "--label", "loom.managed=true", network], {
        timeoutMs: 30_000,
      });
      // Another supervisor may have created it meanwhile; only a still-missing network is an error.
      if (made.exitCode !== 0 && !/already exists/i.test(made.stderr)) {
        throw new RuntimeError(
          "ENGINE_FAILED",
          `${this.bin} network create ${network} failed: ${firstLines(made.stderr)}`,
        );
      }
    }
    this.networksReady.add(network);
  }
}
