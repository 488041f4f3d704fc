/*
 * smtpd-maildrop - the queue sink of smtpd's stand-alone mode ("sendmail
 * -bs"): the message is written into maildrop/ as the invoking user, like
 * any other local submission, and pickup is woken; pickup and cleanup take
 * it from there. The reply names the maildrop file's queue ID. Used by
 * smtpd-standalone.ts; follows Postfix's postdrop(1).
 */
import type { CleanupReply } from '../global/cleanup-clnt.js';
import type { Params } from '../global/params/param-registry.js';
import { QueueFileWriter } from '../global/queue/queue-file-write.js';
import { triggerPickup } from '../global/trigger-clnt.js';
import type { OpenQueueSink, QueueSink } from './smtpd-transaction.js';

class MaildropSink implements QueueSink {
  private contentStarted = false;

  constructor(
    private readonly writer: QueueFileWriter,
    private readonly queueDirectory: string,
  ) {}

  get id(): string {
    return this.writer.id;
  }

  async recipient(rcpt: { address: string; original: string; notify: string; orcpt: string }): Promise<void> {
    this.writer.recipient(rcpt);
  }

  async content(chunk: Buffer): Promise<void> {
    if (!this.contentStarted) {
      this.writer.beginContent();
      this.contentStarted = true;
    }
    await this.writer.writeContent(chunk);
  }

  async finish(): Promise<CleanupReply> {
    try {
      if (!this.contentStarted) this.writer.beginContent();
      await this.writer.endContent();
      const id = await this.writer.commit();
      void triggerPickup(this.queueDirectory);
      return { status: 'ok', id };
    } catch (err) {
      await this.writer.abort();
      return { status: 'defer', dsn: '4.3.0', text: `Error: queue file write error (${(err as Error).message})` };
    }
  }

  abort(): void {
    void this.writer.abort();
  }
}

/** Opens maildrop/ files for the messages of a "sendmail -bs" session. */
export function maildropSink(params: Params): OpenQueueSink {
  return async (sender, attrs) => {
    const writer = await QueueFileWriter.create(params.queue_directory, 'maildrop');
    writer.envelope({ arrival: Date.now(), sender, attrs });
    return new MaildropSink(writer, params.queue_directory);
  };
}
