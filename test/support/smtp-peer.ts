/*
 * smtp-peer - an SMTP server for tests of Petrel's SMTP client, built on
 * smtp-server: it answers each recipient by its local part ("temp..." 450,
 * "perm..." 550, anything else 250), keeps what it received, and offers
 * STARTTLS (smtp-server's own test certificate) unless told not to, or TLS
 * from the first byte (implicitTls, as on port 465); a
 * minimal one offers neither SMTPUTF8, 8BITMIME nor DSN. The parameters of
 * every RCPT TO (NOTIFY, ORCPT) are kept too, accepted or not.
 */
import { SMTPServer } from 'smtp-server';

/** One received message. */
export interface ReceivedMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly data: string;
  readonly secure: boolean;
  /** The address the client connected from. */
  readonly clientAddress: string;
  /** The BODY= parameter of MAIL FROM, if any. */
  readonly body?: string;
}

/** One RCPT TO with its DSN parameters (ORCPT as decoded from xtext). */
export interface RcptParams {
  readonly address: string;
  readonly notify?: string;
  readonly orcpt?: string;
}

/** A running peer. */
export interface SmtpPeer {
  readonly received: ReceivedMessage[];
  readonly rcpts: RcptParams[];
  close(): Promise<void>;
}

/** Starts a peer on host:port. */
export async function startSmtpPeer(host: string, port: number, options: { startTls?: boolean; minimal?: boolean; implicitTls?: boolean } = {}): Promise<SmtpPeer> {
  const received: ReceivedMessage[] = [];
  const rcpts: RcptParams[] = [];
  const server = new SMTPServer({
    authOptional: true,
    // implicitTls: TLS from the first byte (SMTPS, as on port 465).
    secure: options.implicitTls === true,
    hideSTARTTLS: options.startTls === false,
    // minimal: an old server without SMTPUTF8 and 8BITMIME.
    hideSMTPUTF8: options.minimal === true,
    hide8BITMIME: options.minimal === true,
    hideDSN: options.minimal === true,
    disabledCommands: options.startTls === false ? ['STARTTLS'] : [],
    logger: false,
    onRcptTo(address, _session, callback) {
      const args = (address.args as Record<string, string> | false) || {};
      rcpts.push({ address: address.address, ...(args.NOTIFY === undefined ? {} : { notify: args.NOTIFY }), ...(args.ORCPT === undefined ? {} : { orcpt: args.ORCPT }) });
      const local = address.address.split('@')[0] ?? '';
      if (local.startsWith('temp')) {
        const err = Object.assign(new Error('4.2.0 <' + address.address + '>: mailbox busy, try later'), { responseCode: 450 });
        callback(err);
      } else if (local.startsWith('perm')) {
        const err = Object.assign(new Error('5.1.1 <' + address.address + '>: Recipient address rejected: User unknown'), { responseCode: 550 });
        callback(err);
      } else {
        callback();
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
          clientAddress: session.remoteAddress.replace(/^::ffff:/, ''),
          ...(session.envelope.mailFrom !== false && typeof (session.envelope.mailFrom.args as Record<string, string> | false || {}).BODY === 'string'
            ? { body: ((session.envelope.mailFrom.args as Record<string, string>).BODY as string).toUpperCase() }
            : {}),
        });
        callback(null, 'Ok: queued as PEER1');
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { received, rcpts, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
