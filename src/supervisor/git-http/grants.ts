import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import { LoomError } from "../../shared/errors.ts";
import { formatIssues } from "../../shared/zod-issues.ts";

/** A grant or token the git endpoint cannot accept; the message names the value and what is accepted. */
export class GitHttpError extends LoomError {
  constructor(message: string) {
    super("GIT_HTTP_INVALID", message);
  }
}

export const GrantInput = z
  .object({
    generation: z.number().int().positive(),
    /** The one branch this token may push: the generation's own `lab/gen-N`. Absent: fetch only. */
    push: z.string().optional(),
  })
  .strict()
  .superRefine((g, ctx) => {
    if (g.push !== undefined && g.push !== `lab/gen-${g.generation}`) {
      ctx.addIssue({
        code: "custom",
        path: ["push"],
        message: `${JSON.stringify(g.push)} is not accepted: a grant for generation ${g.generation} may push only "lab/gen-${g.generation}", or omit push for fetch only`,
      });
    }
  });
export type GrantInput = z.infer<typeof GrantInput>;

export interface Grant {
  readonly generation: number;
  /** The full ref a push may update (`refs/heads/lab/gen-N`), or undefined for fetch only. */
  readonly pushRef: string | undefined;
}

const hash = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex");

/**
 * The tokens the endpoint accepts. Only each token's SHA-256 is kept, so a dump of this process's
 * memory or a log of the table gives no usable token; a lookup is by hash, so no token is compared
 * byte by byte.
 */
export class Grants {
  readonly #byHash = new Map<string, Grant>();

  grant(input: unknown): string {
    const parsed = GrantInput.safeParse(input);
    if (!parsed.success) {
      throw new GitHttpError(`grant refused: ${formatIssues(parsed.error, { root: "(grant)" })}`);
    }
    const token = randomBytes(32).toString("base64url");
    const { generation, push } = parsed.data;
    this.#byHash.set(hash(token), {
      generation,
      pushRef: push === undefined ? undefined : `refs/heads/${push}`,
    });
    return token;
  }

  /** Whether the token was granted and is now gone. */
  revoke(token: string): boolean {
    return typeof token === "string" && this.#byHash.delete(hash(token));
  }

  lookup(token: string): Grant | undefined {
    return this.#byHash.get(hash(token));
  }
}

/** The token of an `Authorization: Basic` header for user `loom`, or why there is none. */
export function basicToken(header: string | undefined): { token: string } | { why: string } {
  if (!header) return { why: "no credentials were sent" };
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return { why: "the Authorization header is not HTTP Basic" };
  const decoded = Buffer.from(m[1] as string, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return { why: "the Basic credentials have no password" };
  const user = decoded.slice(0, colon);
  if (user !== "loom") return { why: `the user is ${JSON.stringify(user.slice(0, 40))}, not "loom"` };
  return { token: decoded.slice(colon + 1) };
}
