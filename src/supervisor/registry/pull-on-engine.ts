import { type DockerTarget, docker, engineName, firstLines } from "./docker-cli.ts";
import { RegistryError } from "./errors.ts";
import { registryDownHint } from "./push-image.ts";
import { registryOf, requireDigestReference } from "./reference.ts";

// What docker says when the engine cannot reach the registry at all (as opposed to a missing manifest).
const UNREACHABLE =
  /connection refused|no such host|i\/o timeout|no route to host|network is unreachable|dial tcp/i;

/**
 * Loads a digest-pinned image onto one engine (`docker --host H pull REF@sha256:…`), as a swarm node
 * does when a service names it; returns the image id there. The registry is not asked from here first:
 * the engine may see it at an address this process does not (a node in a namespace of its own).
 * Loopback registries need no engine setting: docker allows plain http to 127.0.0.0/8 by default.
 */
export async function pullOnEngine(
  reference: string,
  dockerHost?: string,
  opts: { docker?: string; timeoutMs?: number } = {},
): Promise<string> {
  const { name } = requireDigestReference(reference);
  const target: DockerTarget = { docker: opts.docker, dockerHost };
  const pull = await docker(target, ["pull", "--quiet", reference], opts.timeoutMs ?? 10 * 60_000);
  if (pull.exitCode !== 0) {
    const registry = registryOf(name);
    const said = firstLines(pull.all, 4);
    if (registry && UNREACHABLE.test(said) && !/docker daemon/i.test(said)) {
      throw new RegistryError(
        "REGISTRY_UNREACHABLE",
        `cannot pull ${reference}: ${engineName(target)} reaches no registry at ${registry} (${said}): ${registryDownHint(registry)}`,
      );
    }
    throw new RegistryError(
      "PULL_FAILED",
      `docker pull ${reference} failed on ${engineName(target)}: ${said}`,
    );
  }
  const id = await docker(target, ["image", "inspect", "--format", "{{.Id}}", reference]);
  return id.stdout.trim();
}
