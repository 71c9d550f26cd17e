import { z } from "zod";
import { isSecretName } from "./secret-env.ts";
import { formatIssues } from "./zod-issues.ts";

/**
 * A pooled Lab (`loom lab-standby`) is a Lab container started before it has a generation: its node
 * has loaded the Lab's modules and waits on `standby.sock` in its socket folder. The Supervisor claims
 * it by sending one line of JSON — the `loom lab` command line and environment a cold start of that
 * generation would have had (lab-spec.ts builds both from one spec) — and reading one line back.
 * Secrets never travel this way: they arrive in the secrets file, as for any Lab.
 */
export const STANDBY_SOCKET = "standby.sock";
/** The longest claim line either side reads. */
export const MAX_CLAIM_BYTES = 64 * 1024;

export const LabClaim = z.strictObject({
  /** `loom lab …`: the command a cold Lab of this generation runs. */
  args: z
    .array(z.string())
    .min(1)
    .refine((a) => a[0] === "lab", 'a claim runs the "lab" command: args start with "lab"'),
  /** The variables a cold Lab's container would have been started with. */
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "environment names are letters, digits and '_'"),
      z.string(),
    )
    .refine(
      (env) => !Object.keys(env).some(isSecretName),
      "a claim carries no secret (they arrive in the secrets file)",
    ),
});
export type LabClaim = z.infer<typeof LabClaim>;

export const ClaimAnswer = z.union([
  z.strictObject({ ok: z.literal(true) }),
  z.strictObject({ ok: z.literal(false), error: z.string() }),
]);
export type ClaimAnswer = z.infer<typeof ClaimAnswer>;

/** A claim line parsed, or what was wrong with it. */
export function parseClaim(line: string): { ok: true; claim: LabClaim } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: "a claim is one line of JSON {args, env}" };
  }
  const parsed = LabClaim.safeParse(raw);
  return parsed.success
    ? { ok: true, claim: parsed.data }
    : { ok: false, error: `invalid claim: ${formatIssues(parsed.error, { root: "(claim)" })}` };
}
