/**
 * The round's limits, in a module without zod so `loom`'s option parsing can name them without
 * loading a schema library.
 */

/** Candidates per round: Labs started at once on one program.md (LOOM_CANDIDATES, POST /spawn). */
export const MAX_CANDIDATES = 16;
/** An approach hint travels in the spawn body and on the record; a paragraph, not a second program. */
export const HINT_MAX_CHARS = 2_000;
