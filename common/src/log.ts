/**
 * Structured logs as JSON lines on stderr. Errors are logged with their stack
 * here, on the server, and nowhere else.
 */
type Fields = Record<string, unknown>;

function serialize(fields: Fields): Fields {
  const out: Fields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
  }
  return out;
}

function write(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields: Fields = {}): void {
  if (level === 'debug' && !process.env.DEBUG) return;
  if (process.env.LOG_LEVEL === 'silent') return;
  const line = JSON.stringify(
    { time: new Date().toISOString(), level, msg: message, ...serialize(fields) },
    (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
  );
  process.stderr.write(`${line}\n`);
}

export const log = {
  debug: (message: string, fields?: Fields) => write('debug', message, fields),
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
};
