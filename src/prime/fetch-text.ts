/** Tries of a read whose connection is reset before it is answered. */
const READ_ATTEMPTS = 3;

/** A connection cut before an answer (not a refusal: nobody listening is not retried). */
function connectionReset(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } }).cause;
  return ["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"].includes(cause?.code ?? "");
}

/**
 * One request and its body's text. A read (GET) whose connection was reset before any answer — a
 * kept-alive socket the server closed as it was reused, under load — is asked again, up to
 * READ_ATTEMPTS tries; a write never is. Other failures reject as fetch's do.
 */
export async function fetchText(
  fetchFn: typeof fetch,
  url: string,
  init: RequestInit & { readonly method: string; readonly signal: AbortSignal },
): Promise<{ res: Response; text: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetchFn(url, init);
      return { res, text: await res.text() };
    } catch (err) {
      if (init.method !== "GET" || attempt >= READ_ATTEMPTS || init.signal.aborted || !connectionReset(err))
        throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}
