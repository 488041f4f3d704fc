/*
 * smtp-server-options - the smtp-server settings every SMTP conversation
 * Petrel serves shares (smtpd, "sendmail -bs"): the SIZE limit from
 * message_size_limit, PIPELINING, ENHANCEDSTATUSCODES, 8BITMIME, SMTPUTF8
 * and DSN offered, no STARTTLS or AUTH yet, no logging of its own, and no
 * reverse lookups (the caller does its own).
 */
import type { SMTPServerOptions } from 'smtp-server';
import type { Params } from './params/param-registry.js';

/** The shared part of an SMTPServer's options. */
export function baseServerOptions(params: Params): SMTPServerOptions {
  return {
    size: params.message_size_limit > 0 ? params.message_size_limit : undefined,
    logger: false,
    disableReverseLookup: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    authOptional: true,
    hideDSN: false,
    hideENHANCEDSTATUSCODES: false,
    hideSMTPUTF8: false,
    hide8BITMIME: false,
    hidePIPELINING: false,
  };
}
