/*
 * smtpd-policy-clnt - the client side of Postfix's policy delegation
 * protocol (SMTPD_POLICY_README) for check_policy_service. A service is
 * named inet:host:port, unix:pathname (a relative pathname is below
 * queue_directory, as in Postfix) or "{ name, option=value, ... }" with
 * the per-service options of Postfix 3.7 (timeout, max_idle, max_ttl,
 * try_limit, retry_delay, request_limit, default_action, policy_context),
 * whose defaults are the smtpd_policy_service_* parameters. A request is
 * name=value lines and an empty line, the reply likewise; connections are
 * kept and reused by the process (stream-client.ts, as Postfix's
 * auto_clnt); a request that gets no action is tried try_limit times,
 * retry_delay apart, each failure logged as Postfix logs it ("problem
 * talking to server 127.0.0.1:10023: Connection timed out"), and then the
 * caller applies the default action. Opened at start-up by
 * smtpd-check-config.ts; queried by smtpd-check-policy.ts.
 */
import { isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { convertParam, splitList } from '../global/config/param-convert.js';
import { PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import { SMTPD_PARAMS } from '../global/params/smtpd-params.js';
import { msg } from '../util/msg.js';
import { parseHostPort, StreamClient, StreamClientError, type ReplyDecoder, type StreamEndpoint } from '../util/stream-client.js';

/** How one policy service is used: the smtpd_policy_service_* values, or the service's own options. */
export interface PolicyOptions {
  /** Seconds. */
  readonly timeout: number;
  readonly maxIdle: number;
  readonly maxTtl: number;
  readonly tryLimit: number;
  readonly retryDelay: number;
  readonly requestLimit: number;
  readonly defaultAction: string;
  readonly policyContext: string;
}

/** The per-service options, each with the parameter that gives its default and its type. */
const OPTION_PARAMS = {
  timeout: 'smtpd_policy_service_timeout',
  max_idle: 'smtpd_policy_service_max_idle',
  max_ttl: 'smtpd_policy_service_max_ttl',
  try_limit: 'smtpd_policy_service_try_limit',
  retry_delay: 'smtpd_policy_service_retry_delay',
  request_limit: 'smtpd_policy_service_request_limit',
  default_action: 'smtpd_policy_service_default_action',
  policy_context: 'smtpd_policy_service_policy_context',
} as const satisfies Record<string, keyof Params>;

type OptionName = keyof typeof OPTION_PARAMS;

/** Connections one smtpd process keeps to one policy service (Postfix: one per process, which serves one client at a time). */
const POLICY_CONNECTIONS = 8;

/** The largest reply accepted from a policy server. */
const MAX_REPLY = 65536;

/** Splits a connection's bytes into replies: attribute lines ended by an empty line. */
class PolicyReplyDecoder implements ReplyDecoder {
  private pending = '';

  push(chunk: Buffer): Buffer[] {
    this.pending += chunk.toString('utf8');
    const replies: Buffer[] = [];
    for (;;) {
      const end = this.pending.startsWith('\n') ? 0 : this.pending.indexOf('\n\n');
      if (end < 0) break;
      replies.push(Buffer.from(this.pending.slice(0, end), 'utf8'));
      this.pending = this.pending.slice(end === 0 ? 1 : end + 2);
    }
    if (this.pending.length > MAX_REPLY) throw new Error(`reply longer than ${MAX_REPLY} bytes`);
    return replies;
  }
}

/** The action attribute of a reply, or undefined when it has none. */
function replyAction(reply: Buffer): string | undefined {
  for (const line of reply.toString('utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0 && line.slice(0, at) === 'action') return line.slice(at + 1);
  }
  return undefined;
}

/** The reason Postfix gives for a failed attempt (its system error words where it has them). */
function failureReason(err: StreamClientError): string {
  if (err.failure === 'timeout' || /: timed out$/.test(err.message)) return 'Connection timed out';
  if (err.failure === 'connect') return err.message.replace(/^connect to .*?: /, '');
  return err.message;
}

/** Where a service name points: inet:host:port, or unix:pathname below queue_directory when relative. */
function parseEndpoint(spec: string, name: string, params: Params): StreamEndpoint {
  const m = /^(inet|unix):(.+)$/i.exec(name);
  const kind = m?.[1]?.toLowerCase();
  const where = m?.[2] ?? '';
  if (kind === 'unix') return { path: isAbsolute(where) ? where : join(params.queue_directory, where) };
  const inet = kind === 'inet' ? parseHostPort(where) : undefined;
  if (inet === undefined) throw new PetrelError('config', `check_policy_service ${spec}: expected inet:host:port or unix:pathname`);
  return inet;
}

function isOption(name: string): name is OptionName {
  return Object.hasOwn(OPTION_PARAMS, name);
}

/** The options of a service: the parameters, overridden by each "name=value" (or "{ name = value }") item. */
function parseOptions(spec: string, items: readonly string[], params: Params): PolicyOptions {
  const values: Record<OptionName, number | string> = {
    timeout: params.smtpd_policy_service_timeout,
    max_idle: params.smtpd_policy_service_max_idle,
    max_ttl: params.smtpd_policy_service_max_ttl,
    try_limit: params.smtpd_policy_service_try_limit,
    retry_delay: params.smtpd_policy_service_retry_delay,
    request_limit: params.smtpd_policy_service_request_limit,
    default_action: params.smtpd_policy_service_default_action,
    policy_context: params.smtpd_policy_service_policy_context,
  };
  for (const item of items) {
    const text = item.startsWith('{') && item.endsWith('}') ? item.slice(1, -1).trim() : item;
    const at = text.indexOf('=');
    const name = text.slice(0, Math.max(at, 0)).trim().toLowerCase();
    if (at < 0 || !isOption(name)) throw new PetrelError('config', `check_policy_service ${spec}: unknown or malformed option "${item}" (${Object.keys(OPTION_PARAMS).join(', ')})`);
    const param = OPTION_PARAMS[name];
    values[name] = convertParam(`check_policy_service ${spec}: ${name}`, SMTPD_PARAMS[param], text.slice(at + 1).trim()) as number | string;
  }
  return {
    timeout: values.timeout as number,
    maxIdle: values.max_idle as number,
    maxTtl: values.max_ttl as number,
    tryLimit: values.try_limit as number,
    retryDelay: values.retry_delay as number,
    requestLimit: values.request_limit as number,
    defaultAction: values.default_action as string,
    policyContext: values.policy_context as string,
  };
}

/** One policy service of a restriction list. */
export class PolicyService {
  private readonly client: StreamClient;

  private constructor(
    /** The server as Postfix names it in log lines: host:port, or the pathname as written. */
    readonly name: string,
    endpoint: StreamEndpoint,
    readonly options: PolicyOptions,
  ) {
    this.client = new StreamClient(endpoint, {
      timeoutMs: options.timeout * 1000,
      idleMs: options.maxIdle * 1000,
      ttlMs: options.maxTtl * 1000,
      maxConnections: POLICY_CONNECTIONS,
      requestLimit: options.requestLimit,
      decoder: () => new PolicyReplyDecoder(),
    });
  }

  /** The service spec names (the argument of check_policy_service); a configuration error when it is malformed. */
  static open(spec: string, params: Params): PolicyService {
    const grouped = spec.startsWith('{') && spec.endsWith('}');
    const items = grouped ? splitList(spec.slice(1, -1)) : [spec];
    const [name, ...options] = items;
    if (name === undefined) throw new PetrelError('config', `check_policy_service: empty policy service: "${spec}"`);
    return new PolicyService(name.replace(/^(inet|unix):/i, ''), parseEndpoint(spec, name, params), parseOptions(spec, options, params));
  }

  /** The action the server answers to attributes; undefined (each failure logged) when try_limit attempts gave none. */
  async query(attributes: readonly (readonly [string, string])[]): Promise<string | undefined> {
    const payload = Buffer.from(`${attributes.map(([name, value]) => `${name}=${value.replace(/\n/g, ' ')}\n`).join('')}\n`, 'utf8');
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      try {
        const action = replyAction(await this.client.request(payload));
        if (action !== undefined) return action;
        msg.warn(`missing attribute action in input from ${this.name}`);
        reason = 'Application error';
      } catch (err) {
        if (!(err instanceof StreamClientError)) throw err;
        if (err.failure === 'connect') msg.warn(`connect to ${this.name}: ${failureReason(err)}`);
        reason = failureReason(err);
      }
      msg.warn(`problem talking to server ${this.name}: ${reason}`);
      if (attempt >= this.options.tryLimit) return undefined;
      if (this.options.retryDelay > 0) await sleep(this.options.retryDelay * 1000);
    }
  }
}
