/*
 * pipe - the pipe delivery agent (pipe(8)): hands a message to a command
 * named in master.cf (pipe-args.ts), run without a shell as user= (never
 * root; a development instance runs it as itself), with the message on
 * standard input: optional From_ line (F), Return-Path (R), Delivered-To
 * (D) and X-Original-To (O) headers, From_ quoting (>), dot-stuffing (.),
 * final delivery (X: a success report says "delivered", not "relayed"),
 * and eol= line endings. Messages over size= bounce. The exit status maps
 * through sysexits (EX_TEMPFAIL and signals defer, others bounce), the
 * command is killed after <service>_time_limit, and each recipient gets
 * Postfix's log line with relay=<service>. An address verification probe
 * runs nothing and is answered deliverable.
 */
import { findAccount, findGroupId } from '../global/accounts.js';
import { feedCommand } from '../global/command-feed.js';
import { perServiceValue } from '../global/config/per-service-params.js';
import type { Config } from '../global/config/load-config.js';
import { resultOf, serveDeliveries, type DeliveryReply, type DeliveryRequest, type DeliveryResult } from '../global/deliver-clnt.js';
import { logAgentDelivery } from '../global/deliver-log.js';
import { softBounce } from '../global/soft-bounce.js';
import { withQueueFile } from '../global/deliver-queue-file.js';
import { PetrelError } from '../global/errors.js';
import { contentLines, type QueueFileInfo } from '../global/queue/queue-file-read.js';
import { runDaemon } from '../master/skeleton.js';
import { FramedConnection } from '../util/ipc-frame.js';
import { asctime } from '../util/time-format.js';
import { expandArgv, parsePipeArgs, type PipeSettings } from './pipe-args.js';

interface PipeContext {
  readonly config: Config;
  readonly service: string;
  readonly settings: PipeSettings;
  readonly ids: { uid: number; gid: number } | undefined;
  readonly timeLimit: number;
}

let ctx: PipeContext | undefined;

/** The message as the command reads it, from the open queue file. */
async function* pipeInput(context: PipeContext, request: DeliveryRequest, file: number, info: QueueFileInfo): AsyncGenerator<Buffer> {
  const { flags, eol } = context.settings;
  const head: string[] = [];
  if (flags.includes('F')) head.push(`From ${request.sender === '' ? 'MAILER-DAEMON' : request.sender}  ${asctime(new Date())}`);
  if (flags.includes('R')) head.push(`Return-Path: <${request.sender}>`);
  const single = request.recipients.length === 1 ? request.recipients[0] : undefined;
  if (flags.includes('D') && single !== undefined) head.push(`Delivered-To: ${single.address}`);
  if (flags.includes('O') && single !== undefined && single.original !== '') head.push(`X-Original-To: ${single.original}`);
  const end = Buffer.from(eol);
  for await (const text of contentLines(file, info, head)) {
    let out = text;
    if (flags.includes('.') && out[0] === 0x2e) out = Buffer.concat([Buffer.from('.'), out]);
    if (flags.includes('>') && out.subarray(0, 5).toString('latin1') === 'From ') out = Buffer.concat([Buffer.from('>'), out]);
    yield Buffer.concat([out, end]);
  }
}

/** What became of one delivery request (every recipient shares it). */
interface PipeOutcome {
  readonly status: DeliveryResult['status'];
  readonly dsn: string;
  readonly reason: string;
}

/** Runs the command with the message of the request's queue file. */
function runCommand(context: PipeContext, request: DeliveryRequest): Promise<PipeOutcome> {
  // An address verification probe runs no command: the recipient is deliverable through this service.
  if (request.probe === true) return Promise.resolve({ status: 'sent', dsn: '2.0.0', reason: `delivers via ${context.service} service` });
  return withQueueFile(request.queueFile, (file, info) => commandOutcome(context, request, file, info), (dsn, reason) => ({ status: 'deferred', dsn, reason }));
}

async function commandOutcome(context: PipeContext, request: DeliveryRequest, file: number, info: QueueFileInfo): Promise<PipeOutcome> {
  if (context.settings.size > 0 && info.contentSize > context.settings.size) return { status: 'bounced', dsn: '5.2.3', reason: 'message file too big' };
  let argv: string[];
  try {
    argv = expandArgv(context.settings, {
      sender: request.sender,
      nexthop: request.nexthop,
      queueId: request.queueId,
      size: info.contentSize,
      recipientDelimiter: context.config.params.recipient_delimiter,
      attrs: request.attrs,
      recipients: request.recipients,
    });
  } catch (err) {
    return { status: 'deferred', dsn: '4.3.5', reason: (err as Error).message };
  }
  const [command, ...args] = argv as [string, ...string[]];
  const failure = await feedCommand(command, args, pipeInput(context, request, file, info), {
    env: { PATH: '/usr/bin:/bin' },
    cwd: '/',
    timeLimitSeconds: context.timeLimit,
    ...(context.ids === undefined ? {} : { ids: context.ids }),
  });
  if (failure === undefined) return { status: 'sent', dsn: '2.0.0', reason: `delivered via ${context.service} service` };
  return { status: failure.dsn.startsWith('4') ? 'deferred' : 'bounced', dsn: failure.dsn, reason: failure.text };
}

async function deliver(context: PipeContext, request: DeliveryRequest): Promise<DeliveryReply> {
  const outcome = softBounce(await runCommand(context, request), context.config.params.soft_bounce && request.probe !== true);
  // Without flag X the command is not the final destination: a success report says "relayed".
  const relayed = outcome.status === 'sent' && !context.settings.flags.includes('X');
  const results = request.recipients.map((r): DeliveryResult => {
    logAgentDelivery(request, r, { relay: context.service, ...outcome });
    return resultOf(r.index, { ...outcome, ...(relayed ? { action: 'relayed' as const } : {}) });
  });
  return { results };
}

/** The uid and gid of user= (and :group), when this process can switch to them. */
function commandIds(settings: PipeSettings): { uid: number; gid: number } | undefined {
  const account = findAccount(settings.user);
  if (account === undefined) throw new PetrelError('config', `pipe: user=${settings.user}: unknown account`);
  if (account.uid === 0) throw new PetrelError('config', 'pipe: user= may not be root');
  const gid = settings.group === undefined ? account.gid : findGroupId(settings.group);
  if (gid === undefined) throw new PetrelError('config', `pipe: user=${settings.user}:${settings.group}: unknown group`);
  // Only root can run the command as another account; a development instance runs it as itself.
  return process.geteuid?.() === 0 ? { uid: account.uid, gid } : undefined;
}

runDaemon({
  name: 'pipe',
  postInit({ config, service, args }) {
    const settings = parsePipeArgs(args);
    ctx = {
      config,
      service,
      settings,
      ids: commandIds(settings),
      timeLimit: perServiceValue(config, service, 'time_limit', config.params.command_time_limit),
    };
  },
  onConnection: (socket, { retiring }) => {
    const context = ctx as PipeContext;
    return serveDeliveries(new FramedConnection(socket), context.config.params.ipc_timeout * 1000, retiring, (request) => deliver(context, request));
  },
});
