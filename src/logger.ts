import pino, { type Logger } from 'pino';

/** The process logger: JSON lines, pretty only on a TTY; secrets never printed. */
export function createLogger(level: string, name = 'holdfast'): Logger {
  return pino({
    name,
    level,
    redact: ['token', 'opsToken', 'req.headers.authorization', '*.paymentToken'],
    transport: process.stdout.isTTY ? { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l' } } : undefined,
  });
}
