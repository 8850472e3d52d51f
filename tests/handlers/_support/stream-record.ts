/** DynamoDB stream records as the event source mapping delivers them (NewImage in AttributeValue form). */
type Row = Record<string, unknown>;

export function toAttributeValue(v: unknown): Record<string, unknown> {
  if (typeof v === 'string') return { S: v };
  if (typeof v === 'number') return { N: String(v) };
  if (typeof v === 'boolean') return { BOOL: v };
  if (v === null || v === undefined) return { NULL: true };
  if (Array.isArray(v)) return { L: v.map(toAttributeValue) };
  return { M: Object.fromEntries(Object.entries(v as Row).map(([k, x]) => [k, toAttributeValue(x)])) };
}

export function streamRecord(table: string, image: Row, seq: string, eventName = 'INSERT') {
  return {
    eventID: `e${seq}`,
    eventName,
    eventSourceARN: `arn:aws:dynamodb:us-east-1:123456789012:table/${table}/stream/2024-01-01T00:00:00.000`,
    dynamodb: { NewImage: (toAttributeValue(image) as { M: never }).M, SequenceNumber: seq },
  };
}
