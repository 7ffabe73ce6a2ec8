import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
}

/**
 * A real SMTP server on a random local port: tests see exactly what our mailer sent over the
 * wire, not what a stub was called with.
 */
export interface SmtpCapture {
  url: string;
  messages: CapturedMail[];
  clear(): void;
  waitFor(count: number, timeoutMs?: number): Promise<CapturedMail[]>;
}

let capture: Promise<{ server: SMTPServer; api: SmtpCapture }> | undefined;

export function smtpCapture(): Promise<SmtpCapture> {
  capture ??= new Promise((resolve, reject) => {
    const messages: CapturedMail[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const subject = /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? '';
          messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            subject,
          });
          callback();
        });
      },
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.server.address() as { port: number }).port;
      const api: SmtpCapture = {
        url: `smtp://127.0.0.1:${port}?ignoreTLS=true`,
        messages,
        clear: () => void messages.splice(0),
        async waitFor(count, timeoutMs = 5000) {
          const until = Date.now() + timeoutMs;
          while (messages.length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
          return messages;
        },
      };
      resolve({ server, api });
    });
  });
  return capture.then((c) => c.api);
}

export async function closeSmtpCapture(): Promise<void> {
  if (!capture) return;
  const { server } = await capture;
  capture = undefined;
  await new Promise<void>((r) => server.close(() => r()));
}
