import { Readable } from 'node:stream';

/**
 * Turn an S3 GetObject `Body` into a Node Readable. In Node the SDK returns an
 * IncomingMessage (already a Readable); tests may hand back a Readable, a Buffer or a string.
 */
export function bodyToReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
  if (body && typeof (body as { pipe?: unknown }).pipe === 'function') return body as Readable;
  if (body && typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    return Readable.from(body as AsyncIterable<unknown>);
  }
  if (body && typeof (body as { transformToWebStream?: unknown }).transformToWebStream === 'function') {
    const web = (body as { transformToWebStream: () => unknown }).transformToWebStream();
    return Readable.fromWeb(web as Parameters<typeof Readable.fromWeb>[0]);
  }
  throw new Error('S3 object has no readable body');
}

export async function bodyToBuffer(body: unknown, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const part of bodyToReadable(body)) {
    const buf = Buffer.isBuffer(part) ? part : Buffer.from(part as Uint8Array);
    size += buf.length;
    if (size > maxBytes) throw new Error(`S3 object larger than ${maxBytes} bytes; refusing to buffer it`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export async function bodyToString(body: unknown, maxBytes?: number): Promise<string> {
  return (await bodyToBuffer(body, maxBytes)).toString('utf8');
}
