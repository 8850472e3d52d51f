type Row = Record<string, unknown>;

function toAv(v: unknown): Record<string, unknown> {
  if (typeof v === 'string') return { S: v };
  if (typeof v === 'number') return { N: String(v) };
  if (typeof v === 'boolean') return { BOOL: v };
  if (v === null || v === undefined) return { NULL: true };
  if (Array.isArray(v)) return { L: v.map(toAv) };
  return { M: Object.fromEntries(Object.entries(v as Row).map(([k, x]) => [k, toAv(x)])) };
}

/** A DynamoDB stream record of `image` (INSERT unless told otherwise), as Lambda hands it to the stream router. */
export function streamRecord(table: string, image: Row, seq: string, eventName = 'INSERT') {
  return {
    eventID: seq,
    eventName,
    eventSourceARN: `arn:aws:dynamodb:us-east-1:123456789012:table/${table}/stream/2024-01-01T00:00:00.000`,
    dynamodb: {
      Keys: { pk: { S: String(image.pk) }, sk: { S: String(image.sk) } },
      NewImage: (toAv(image) as { M: never }).M,
      SequenceNumber: seq,
    },
  };
}

/** A DynamoDB stream INSERT record of `image`, as Lambda hands it to the stream router. */
export function insertRecord(table: string, image: Row, seq: string) {
  return streamRecord(table, image, seq);
}
