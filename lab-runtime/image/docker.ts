import { LoomError } from "../../src/shared/errors.ts";
import { run } from "./run.ts";

const DOCKER_HINT =
  "install Docker (https://docs.docker.com/engine/install/) or pass --docker <path to the docker CLI>";

/** Checks that the docker CLI exists and its daemon answers; throws a LoomError that says which is wrong. */
export async function assertDockerReady(docker: string): Promise<string> {
  const result = await run(docker, ["version", "--format", "{{.Server.Version}}"], {
    timeoutMs: 30_000,
    missingHint: DOCKER_HINT,
  });
  if (result.code !== 0) {
    throw new LoomError(
      "DOCKER_UNAVAILABLE",
      `docker is installed but its daemon did not answer (is dockerd running, and may this user use it?): ${result.stderr.trim() || `exit code ${result.code}`}`,
    );
  }
  return result.stdout.trim();
}

/** The image's id and labels, or undefined when no image has that name. */
export async function inspectImage(
  docker: string,
  ref: string,
): Promise<{ id: string; labels: Record<string, string> } | undefined> {
  const result = await run(docker, ["image", "inspect", "--format", "{{json .}}", ref], {
    timeoutMs: 30_000,
  });
  if (result.code !== 0) return undefined;
  const info = JSON.parse(result.stdout) as {
    Id: string;
    Config?: { Labels?: Record<string, string> | null };
  };
  return { id: info.Id, labels: info.Config?.Labels ?? {} };
}

/**
 * Tries to pull an image, giving up after `timeoutMs`: where no registry is reachable the pull fails on
 * DNS or connect, so this answers quickly either way. Returns whether the image is now present.
 */
export async function tryPull(docker: string, ref: string, timeoutMs: number): Promise<boolean> {
  const result = await run(docker, ["pull", "--quiet", ref], { timeoutMs });
  return result.code === 0;
}
