import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';

export interface MailAttachment {
  filename: string;
  content: string;
  /** 'base64' for binary content such as PDFs. */
  encoding?: 'base64' | 'utf8';
  contentType?: string;
}

export interface MailMessage {
  to: string[];
  cc?: string[];
  subject: string;
  text: string;
  html?: string;
  attachments?: MailAttachment[];
  /**
   * The From display name instead of the configured one (an agency's name on mail to its
   * clients); the address stays the configured MAIL_FROM address, the one the SMTP relay may send as.
   */
  fromName?: string;
  replyTo?: string;
  /**
   * A stable id of this message (the outbox row's id): it becomes the Message-ID header, so a
   * message sent twice (at-least-once delivery after a crash) is recognisably the same message.
   */
  id?: string;
}

export interface Mailer {
  /** Human-readable: where mail goes ("SMTP smtp.example.com" or "files in ./data/mail"). */
  readonly destination: string;
  send(message: MailMessage): Promise<{ messageId: string }>;
  close(): void;
}

/**
 * SMTP when SMTP_URL is set. Otherwise (the demo) every message is written as an .eml file
 * the user can open, so invitations and receipts are readable without a mail server.
 */
export function createMailer(opts: { smtpUrl?: string | undefined; from: string; mailDir: string }): Mailer {
  if (opts.smtpUrl) {
    const transport = nodemailer.createTransport(opts.smtpUrl);
    const host = new URL(opts.smtpUrl).host;
    return wrap(transport, opts.from, `SMTP ${host}`);
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const dir = path.resolve(opts.mailDir);
  return {
    destination: `files in ${dir}`,
    async send(message) {
      const info = await transport.sendMail({ from: opts.from, ...toNodemailer(message, opts.from) });
      await fs.mkdir(dir, { recursive: true });
      const safeTo = (message.to[0] ?? 'nobody').replace(/[^a-z0-9@._-]/gi, '_');
      // Unique per message: two messages to one address in the same millisecond are two files.
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${safeTo}-${randomBytes(4).toString('hex')}.eml`);
      // Written aside, then renamed: a process killed while writing leaves no half message behind.
      await fs.writeFile(`${file}.part`, info.message as Buffer);
      await fs.rename(`${file}.part`, file);
      return { messageId: info.messageId };
    },
    close: () => transport.close(),
  };
}

function wrap(transport: Transporter, from: string, destination: string): Mailer {
  return {
    destination,
    async send(message) {
      const info = await transport.sendMail({ from, ...toNodemailer(message, from) });
      return { messageId: info.messageId };
    },
    close: () => transport.close(),
  };
}

/** The address inside a configured From ("Kontor <no-reply@kontor.local>" or a bare address). */
export function fromAddress(from: string): string {
  return (/<([^>]+)>\s*$/.exec(from)?.[1] ?? from).trim();
}

function toNodemailer(m: MailMessage, from: string) {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'localhost';
  return {
    ...(m.id ? { messageId: `<${m.id}@${domain}>` } : {}),
    // nodemailer quotes and encodes the name: a name can never add a header.
    ...(m.fromName ? { from: { name: m.fromName, address: fromAddress(from) } } : {}),
    ...(m.replyTo ? { replyTo: m.replyTo } : {}),
    to: m.to,
    ...(m.cc?.length ? { cc: m.cc } : {}),
    subject: m.subject,
    text: m.text,
    ...(m.html ? { html: m.html } : {}),
    ...(m.attachments?.length ? { attachments: m.attachments } : {}),
  };
}
