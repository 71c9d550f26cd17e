import { appendFile, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { Usage } from "../../../schemas/usage.ts";
import type { MessageParam } from "../../agent/model-port.ts";
import { addUsage, StopReason, type Usage as UsageT, zeroUsage } from "../../shared/events.ts";

/** One line of `<state>/chat.jsonl`: a message of the conversation, or the end of a turn with its usage. */
const ChatLine = z.discriminatedUnion("type", [
  z.object({
    version: z.literal(1),
    type: z.literal("message"),
    at: z.string(),
    message: z.object({
      role: z.enum(["user", "assistant"]),
      content: z.union([z.string(), z.array(z.record(z.string(), z.unknown()))]),
    }),
  }),
  z.object({
    version: z.literal(1),
    type: z.literal("turn"),
    at: z.string(),
    reason: StopReason,
    usage: Usage,
  }),
]);
type ChatLine = z.infer<typeof ChatLine>;

export interface LoadedChat {
  readonly messages: MessageParam[];
  readonly turns: number;
  readonly usage: UsageT;
  /** Lines that could not be read (a torn last line after a crash), skipped. */
  readonly skipped: number;
}

/**
 * The conversation as an append-only JSONL file, so a restarted Prime (the Supervisor restarts it after
 * each promotion) keeps it. Appends are whole lines; a torn last line is skipped on load.
 */
export class ChatLog {
  constructor(readonly file: string) {}

  static inStateDir(stateDir: string): ChatLog {
    return new ChatLog(path.join(stateDir, "chat.jsonl"));
  }

  async load(): Promise<LoadedChat> {
    const text = await readFile(this.file, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return "";
      throw err;
    });
    const messages: MessageParam[] = [];
    let usage = zeroUsage();
    let turns = 0;
    let skipped = 0;
    for (const raw of text.split("\n")) {
      if (raw.trim() === "") continue;
      let parsed: ReturnType<typeof ChatLine.safeParse>;
      try {
        parsed = ChatLine.safeParse(JSON.parse(raw));
      } catch {
        skipped++;
        continue;
      }
      if (!parsed.success) {
        skipped++;
        continue;
      }
      const line = parsed.data;
      if (line.type === "message") messages.push(line.message as MessageParam);
      else {
        turns++;
        usage = addUsage(usage, line.usage);
      }
    }
    return { messages, turns, usage, skipped };
  }

  async appendMessages(messages: readonly MessageParam[]): Promise<void> {
    const at = new Date().toISOString();
    await this.#append(messages.map((message) => ({ version: 1, type: "message", at, message }) as ChatLine));
  }

  async appendTurn(reason: StopReason, usage: UsageT): Promise<void> {
    await this.#append([{ version: 1, type: "turn", at: new Date().toISOString(), reason, usage }]);
  }

  async #append(lines: readonly ChatLine[]): Promise<void> {
    if (lines.length === 0) return;
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
  }
}
