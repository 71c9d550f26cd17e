import { readFile, unlink } from "node:fs/promises";
import { z } from "zod";
import type { Config } from "../shared/config.ts";
import { ConfigError } from "../shared/errors.ts";
import { isSecretName } from "../shared/secret-env.ts";

/**
 * The Lab's secrets (its model token, its server's token) arrive in a file, not in its environment:
 * a process's initial environment stays readable in /proc/<pid>/environ (the Lab's, docker-init's,
 * bubblewrap's) after `delete process.env.X`, and the agent's bash runs as the same user. The file is
 * read once and deleted before any tool or eval worker starts; the environment is scrubbed as well.
 */

export const LabSecrets = z.strictObject({
  /** The model proxy's per-generation token, sent as the API key. */
  apiKey: z.string().min(1),
  /** The token the Lab's server requires from the Supervisor. */
  labToken: z.string().min(1),
});
export type LabSecrets = z.infer<typeof LabSecrets>;

/** Deletes every secret-looking variable from `env`. */
export function scrubSecrets(env: NodeJS.ProcessEnv): string[] {
  const removed: string[] = [];
  for (const name of Object.keys(env)) {
    if (isSecretName(name)) {
      delete env[name];
      removed.push(name);
    }
  }
  return removed;
}

/**
 * The config with the secrets file's values in place (labApiKey, labToken), the file deleted and
 * `env` scrubbed (config was read from it already). Without a secrets file the config's own values (from the environment, for a Lab run
 * by hand) stay. A named file that cannot be read or parsed is an error: the Lab could not work.
 */
export async function takeLabSecrets(
  config: Config,
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Config> {
  let secrets: LabSecrets | undefined;
  if (file) {
    let raw: string;
    try {
      raw = await readFile(file, "utf8");
    } catch (err) {
      scrubSecrets(env);
      throw new ConfigError(
        `the secrets file ${file} (--secrets) cannot be read (${err instanceof Error ? err.message : err}); the Supervisor writes it before the Lab starts and the Lab deletes it once read`,
      );
    }
    await unlink(file).catch(() => {});
    const parsed = LabSecrets.safeParse(
      (() => {
        try {
          return JSON.parse(raw) as unknown;
        } catch {
          return undefined;
        }
      })(),
    );
    if (!parsed.success) {
      scrubSecrets(env);
      throw new ConfigError(
        `the secrets file ${file} (--secrets) is not {"apiKey": string, "labToken": string}`,
      );
    }
    secrets = parsed.data;
  }
  scrubSecrets(env);
  return secrets ? { ...config, labApiKey: secrets.apiKey, labToken: secrets.labToken } : config;
}
