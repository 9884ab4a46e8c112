/**
 * Reading a whole small response body (a manifest, repomd.xml, a token)
 * with a ceiling, so that an endless or huge answer fails instead of
 * filling memory.
 */

interface Body extends AsyncIterable<Uint8Array> {
  destroy(error?: Error): unknown;
}

/** Drop a body that is not wanted (a redirect's, an error page, the rest of a 200 to a range check). */
export function discard(body: Body & { on(event: 'error', listener: () => void): unknown }): void {
  // Destroying an unread undici body emits an abort error nobody is listening for.
  body.on('error', () => undefined);
  body.destroy();
}

/** The bytes of `body`, refusing more than `limit`. */
export async function readBody(body: Body, limit: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
