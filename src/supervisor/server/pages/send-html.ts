/**
 * Whether the client asked for a page rather than JSON: text/html listed with a quality at least that
 * of application/json. Browsers navigating send text/html first; fetch, curl and SDKs send star-slash-star.
 */
export function wantsHtml(acceptHeader: string | undefined): boolean {
  const accept = acceptHeader ?? "";
  const quality = (type: string): number => {
    for (const part of accept.split(",")) {
      const [mime, ...params] = part.trim().toLowerCase().split(";");
      if (mime?.trim() !== type) continue;
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      return q ? Number(q.slice(2)) || 0 : 1;
    }
    return -1;
  };
  const html = quality("text/html");
  return html > 0 && html >= quality("application/json");
}
