/*
 * table-socketmap - socketmap:inet:host:port:name and
 * socketmap:unix:pathname:name, Sendmail-style socketmap servers
 * (socketmap_table(5)): each lookup sends the netstring "name key" and reads
 * one netstring reply, "OK data", "NOTFOUND ", or "TEMP reason", "TIMEOUT
 * reason", "PERM reason". Connections are kept, reused and shared by every
 * socketmap table of the process with the same server (table-stream.ts).
 * A server that cannot be reached, times out, answers TEMP, TIMEOUT or
 * PERM, or breaks the protocol is a temporary PetrelError: Postfix defers
 * on all of them (PERM is its "configuration error", also a deferral).
 * The key is sent as given, without partial keys, as Postfix does.
 */
import { encodeNetstring, NetstringDecoder } from '../../util/netstring.js';
import { parseHostPort, type StreamEndpoint } from '../../util/stream-client.js';
import { PetrelError } from '../errors.js';
import { openStreamTableClient, type StreamTableLimits } from './table-stream.js';
import type { LookupTable } from './table.js';

/** Postfix's socketmap limits (100 s per request, 100000-byte replies, 10 s idle, 100 s life). */
export const SOCKETMAP_LIMITS: StreamTableLimits = { timeoutMs: 100_000, maxReply: 100_000, idleMs: 10_000, ttlMs: 100_000, maxConnections: 4 };

/** What each reply status means. */
const FAILURES: Readonly<Record<string, string>> = { TEMP: 'temporary', TIMEOUT: 'timeout', PERM: 'permanent' };

function parseServer(server: string, spec: string): StreamEndpoint {
  const colon = server.indexOf(':');
  const kind = server.slice(0, colon);
  const where = server.slice(colon + 1);
  if (colon > 0 && kind === 'unix' && where !== '') return { path: where };
  const inet = colon > 0 && kind === 'inet' ? parseHostPort(where) : undefined;
  if (inet !== undefined) return inet;
  throw new PetrelError('table_spec', `${spec}: expected socketmap:inet:host:port:name or socketmap:unix:pathname:name`);
}

/** Opens socketmap:name; no connection is made before the first lookup. */
export async function openSocketmap(name: string, spec: string, limits: StreamTableLimits = SOCKETMAP_LIMITS): Promise<LookupTable> {
  const last = name.lastIndexOf(':');
  const mapName = name.slice(last + 1);
  const server = name.slice(0, Math.max(last, 0));
  if (last < 0 || mapName === '') throw new PetrelError('table_spec', `${spec}: socketmap requires server:socketmap argument`);
  const endpoint = parseServer(server, spec);
  const client = openStreamTableClient(spec, 'socketmap', server, endpoint, limits, () => new NetstringDecoder(limits.maxReply));
  return {
    spec,
    pattern: true,
    async lookup(key) {
      const reply = (await client.request(encodeNetstring(`${mapName} ${key}`))).toString('utf8');
      const space = reply.indexOf(' ');
      const status = space < 0 ? reply : reply.slice(0, space);
      const text = space < 0 ? undefined : reply.slice(space + 1);
      // A bare "OK" carries no data: Postfix reads it as "not found".
      if (status === 'OK') return text;
      if (status === 'NOTFOUND') return undefined;
      const reason = text?.trim() ?? '';
      const kind = FAILURES[status];
      if (kind === undefined) throw client.failed(`socketmap server sent a malformed reply: "${reply.slice(0, 100)}"`);
      throw client.failed(`socketmap server ${kind} error${reason === '' ? '' : `: ${reason.slice(0, 200)}`}`);
    },
    close: () => client.close(),
  };
}
