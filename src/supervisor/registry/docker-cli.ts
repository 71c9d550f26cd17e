import { firstLines, runCli } from "../runtime/cli-exec.ts";

export interface DockerTarget {
  /** The docker CLI. */
  readonly docker?: string;
  /** An engine other than the default one, e.g. unix:///run/loom-node-2/docker.sock. */
  readonly dockerHost?: string;
}

/** Runs `docker [--host H] args…`; resolves with any exit code. */
export function docker(target: DockerTarget, args: readonly string[], timeoutMs = 60_000) {
  const hostArgs = target.dockerHost ? ["--host", target.dockerHost] : [];
  return runCli(target.docker ?? "docker", [...hostArgs, ...args], { timeoutMs });
}

export function engineName(target: DockerTarget): string {
  return target.dockerHost ? `the engine at ${target.dockerHost}` : "the local engine";
}

export { firstLines };
