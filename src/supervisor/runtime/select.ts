import { AppleRuntime } from "./apple.ts";
import { DockerRuntime } from "./docker.ts";
import { LocalRuntime } from "./local.ts";
import { PodmanRuntime } from "./podman.ts";
import { type ContainerRuntime, RuntimeError, type RuntimeLog } from "./runtime.ts";
import { type SwarmOptions, SwarmRuntime } from "./swarm.ts";

export const RUNTIME_CHOICES = ["auto", "docker", "podman", "apple", "local", "swarm"] as const;
export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

export interface SelectOptions {
  readonly log: RuntimeLog;
  /** Where the local runtime keeps its records. */
  readonly stateDir: string;
  /** Override a CLI's path (tests; unusual installs). */
  readonly binaries?: {
    readonly docker?: string;
    readonly podman?: string;
    readonly apple?: string;
    readonly bwrap?: string;
  };
  readonly platform?: NodeJS.Platform;
  /** LOOM_RUNTIME=swarm: the manager, placement constraints and how images get pinned. */
  readonly swarm?: SwarmOptions;
}

function make(name: Exclude<RuntimeChoice, "auto">, o: SelectOptions): ContainerRuntime {
  switch (name) {
    case "docker":
      return new DockerRuntime({ binary: o.binaries?.docker });
    case "podman":
      return new PodmanRuntime({ binary: o.binaries?.podman });
    case "apple":
      return new AppleRuntime({ binary: o.binaries?.apple, platform: o.platform });
    case "local":
      return new LocalRuntime({ stateDir: o.stateDir, log: o.log, bwrapBinary: o.binaries?.bwrap });
    case "swarm":
      return new SwarmRuntime(o.swarm);
  }
}

/**
 * The runtime LOOM_RUNTIME names. `auto` tries docker, podman, apple (macOS only), then local (never
 * swarm: scheduling on a cluster is asked for, not guessed), takes
 * the first that works, and logs the pick and why each earlier one was skipped. A named runtime that
 * does not work is an error, not a silent fallback.
 */
export async function selectRuntime(choice: string, options: SelectOptions): Promise<ContainerRuntime> {
  if (!(RUNTIME_CHOICES as readonly string[]).includes(choice)) {
    throw new RuntimeError(
      "UNKNOWN_RUNTIME",
      `LOOM_RUNTIME=${JSON.stringify(choice)} is not a runtime; expected one of ${RUNTIME_CHOICES.join(", ")}`,
    );
  }
  const { log } = options;
  if (choice !== "auto") {
    const runtime = make(choice as Exclude<RuntimeChoice, "auto">, options);
    const a = await runtime.available();
    if (!a.ok)
      throw new RuntimeError("RUNTIME_UNAVAILABLE", `LOOM_RUNTIME=${choice} cannot be used: ${a.reason}`);
    log(`runtime: ${choice} (LOOM_RUNTIME)${a.warning ? ` — ${a.warning}` : ""}`);
    return runtime;
  }
  const platform = options.platform ?? process.platform;
  const skipped: string[] = [];
  for (const name of ["docker", "podman", "apple", "local"] as const) {
    if (name === "apple" && platform !== "darwin") {
      skipped.push(`apple: only on macOS`);
      continue;
    }
    const runtime = make(name, options);
    const a = await runtime.available();
    if (!a.ok) {
      skipped.push(`${name}: ${a.reason}`);
      continue;
    }
    const why = skipped.length > 0 ? `; skipped ${skipped.join("; ")}` : "";
    log(`runtime: auto picked ${name}${why}${a.warning ? ` — ${a.warning}` : ""}`);
    return runtime;
  }
  throw new RuntimeError("RUNTIME_UNAVAILABLE", `no container runtime works here: ${skipped.join("; ")}`);
}
