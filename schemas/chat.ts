import { z } from "zod";

export const CHAT_MESSAGE_MAX_CHARS = 100_000;

/** `POST /chat` to Prime: one user message. */
export const ChatRequest = z.strictObject({
  message: z
    .string()
    .min(1)
    .max(CHAT_MESSAGE_MAX_CHARS)
    .refine((s) => s.trim() !== "", "message must not be only whitespace"),
});
export type ChatRequest = z.infer<typeof ChatRequest>;
