import { InvalidArgumentError } from "commander";
import { type Config, loadConfig } from "../../src/shared/config.ts";
import { parseRegistryAddress, REGISTRY_ADDRESS_ACCEPTED } from "../../src/supervisor/registry/reference.ts";

/** `--push [REGISTRY]`: true alone, else a registry address. */
export function parsePushFlag(value: string): string {
  const address = parseRegistryAddress(value);
  if (address === undefined) {
    throw new InvalidArgumentError(`--push takes ${REGISTRY_ADDRESS_ACCEPTED} (got "${value}").`);
  }
  return address;
}

export interface PushPlan {
  /** The registry to push to; undefined: Loom's own, started under `stateDir`. */
  readonly registry: string | undefined;
  readonly port: number;
  readonly stateDir: string;
}

/**
 * Where `--push` goes, read before the build so a bad LOOM_REGISTRY or LOOM_REGISTRY_PORT is refused
 * at once: the flag's registry, else LOOM_REGISTRY, else Loom's own on 127.0.0.1:LOOM_REGISTRY_PORT
 * under the state dir. Throws ConfigError for a bad variable.
 */
export function planPush(flag: string | true, repoRoot: string, env?: NodeJS.ProcessEnv): PushPlan {
  const config: Config = loadConfig({ cwd: repoRoot, env });
  return {
    registry: flag === true ? config.registry : flag,
    port: config.registryPort,
    stateDir: config.stateDir,
  };
}
