/** Structured one-line JSON logs (CloudWatch Logs Insights friendly). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export function log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
  if (level === 'debug' && !process.env.CQRS_DEBUG) return;
  if (process.env.CQRS_SILENT) return;
  const line = JSON.stringify({ level, message, ...fields }, (_k, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : v,
  );
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}
