/*
 * cleanup - the cleanup daemon (cleanup(8)): takes messages from smtpd and
 * pickup over public/cleanup, rewrites addresses, fixes headers, applies
 * header and body checks (cleanup-content-checks.ts) and writes
 * each message durably into incoming/. The per-message work is in
 * cleanup-session.ts.
 */
import { AddressResolver } from '../global/addr/addr-resolve.js';
import { runDaemon } from '../master/skeleton.js';
import { ContentChecks } from './cleanup-content-checks.js';
import { cleanupSession } from './cleanup-session.js';
import { CleanupRewriter } from './cleanup-rewrite.js';

let rewriter: CleanupRewriter | undefined;
let checks: ContentChecks | undefined;

runDaemon({
  name: 'cleanup',
  async postInit({ config }) {
    rewriter = await CleanupRewriter.open(config.params, await AddressResolver.open(config.params));
    checks = await ContentChecks.open(config.params);
  },
  onConnection: (socket, { config, retiring }) => cleanupSession(socket, config.params, rewriter as CleanupRewriter, checks as ContentChecks, retiring),
});
