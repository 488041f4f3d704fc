/*
 * sendmail-smtp - "sendmail -bs": an SMTP conversation on standard input and
 * output, as Postfix runs smtpd for it. smtp-server speaks the protocol over
 * a stream made of stdin and stdout; each accepted message is written into
 * maildrop/ like any other local submission (pickup and cleanup take it from
 * there) and acknowledged with its maildrop queue ID. The client is the
 * local user, so there is no relay check: recipients go where cleanup and
 * qmgr route them.
 */
import { Duplex, type Readable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import type { Params } from '../global/params/param-registry.js';
import { baseServerOptions } from '../global/smtp-server-options.js';
import { QueueFileWriter } from '../global/queue/queue-file-write.js';
import { triggerPickup } from '../global/trigger-clnt.js';
import { LineEndingNormalizer } from '../util/line-endings.js';

/**
 * stdin and stdout as the one duplex "socket" smtp-server expects. Input that
 * is already waiting is held back until the greeting has gone out, or
 * smtp-server would take the client for an early talker.
 */
function stdioSocket(): Duplex {
  let greeted = false;
  const held: Buffer[] = [];
  let ended = false;
  const socket = new Duplex({
    read() {
      process.stdin.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      process.stdout.write(chunk, (err) => {
        callback(err);
        if (greeted) return;
        greeted = true;
        setImmediate(() => {
          for (const data of held.splice(0)) socket.push(data);
          if (ended) socket.push(null);
        });
      });
    },
    final(callback) {
      callback();
    },
  });
  process.stdin.on('data', (chunk: Buffer) => {
    if (!greeted) held.push(chunk);
    else if (!socket.push(chunk)) process.stdin.pause();
  });
  process.stdin.on('end', () => {
    if (greeted) socket.push(null);
    else ended = true;
  });
  return Object.assign(socket, {
    remoteAddress: '127.0.0.1',
    remotePort: 0,
    localAddress: '127.0.0.1',
    localPort: 0,
    readyState: 'open',
    setTimeout: () => socket,
    setKeepAlive: () => socket,
    setNoDelay: () => socket,
  });
}

async function queueMessage(params: Params, sender: string, recipients: readonly string[], stream: Readable): Promise<string> {
  const writer = await QueueFileWriter.create(params.queue_directory, 'maildrop');
  try {
    writer.envelope({ arrival: Date.now(), sender, attrs: {} });
    for (const rcpt of recipients) writer.recipient({ address: rcpt, original: rcpt, notify: '', orcpt: '' });
    writer.beginContent();
    const normalizer = new LineEndingNormalizer();
    for await (const chunk of stream as AsyncIterable<Buffer>) await writer.writeContent(normalizer.write(chunk));
    await writer.writeContent(normalizer.end());
    await writer.endContent();
    return await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/** Runs the conversation; resolves when the client has quit or stdin ended. */
export async function smtpOnStdio(params: Params): Promise<number> {
  const recipients = new Map<string, string[]>();
  const server = new SMTPServer({
    ...baseServerOptions(params),
    name: params.myhostname,
    banner: params.mail_name,
    onRcptTo(address, session, callback) {
      const list = recipients.get(session.id) ?? [];
      list.push(address.address);
      recipients.set(session.id, list);
      callback();
    },
    onMailFrom(_address, session, callback) {
      recipients.delete(session.id);
      callback();
    },
    onData(stream, session, callback) {
      const sender = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
      queueMessage(params, sender, recipients.get(session.id) ?? [], stream).then(
        (id) => {
          recipients.delete(session.id);
          void triggerPickup(params.queue_directory);
          callback(null, `Ok: queued as ${id}`);
        },
        (err: Error) => {
          stream.resume();
          callback(Object.assign(new Error(`Error: queue file write error (${err.message})`), { responseCode: 451 }));
        },
      );
    },
  });
  const socket = stdioSocket();
  server.connect(socket as never, {});
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.once('finish', () => resolve());
    process.stdin.once('end', () => setTimeout(resolve, 200));
  });
  return 0;
}
