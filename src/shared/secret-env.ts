import { configSpecs } from "./config/specs.ts";

/**
 * Which environment variables count as secrets: Loom's own (the specs marked secret) and anything that
 * looks like a credential, whoever set it (a provider's keys, a CI's tokens).
 */

const SECRET_NAMES = new Set<string>(configSpecs.filter((s) => s.secret).map((s) => s.name));
/** Ends in a credential's word (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY), or contains SECRET or PASSWORD. */
const SECRET_LIKE = /^ANTHROPIC_|(^|_)(API_?KEY|KEY|TOKEN|CREDENTIALS?)$|SECRET|PASSW(OR)?D/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAMES.has(name) || SECRET_LIKE.test(name);
}

/** A copy of `env` without its secrets (what a command the agent runs may see). */
export function withoutSecrets(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isSecretName(name)) out[name] = value;
  }
  return out;
}
