/*
 * address-params - address rewriting and routing parameters: canonical and virtual
 * mapping, masquerading, recipient validation and the transports that
 * trivial-rewrite's resolve chooses between.
 * Defaults are Postfix's (postconf(5), trivial-rewrite(8), cleanup(8)) except where Petrel names itself
 * (mail_name, directories, accounts) or takes a modern default.
 */
import { defineParams } from './param-types.js';

/** Address rewriting, validation and routing parameters. */
export const ADDRESS_PARAMS = defineParams({
  recipient_delimiter: { kind: 'string', default: '', doc: 'Characters that separate a user name from an address extension' },
  append_at_myorigin: { kind: 'bool', default: 'yes', doc: 'Append @$myorigin to addresses without a domain' },
  append_dot_mydomain: { kind: 'bool', default: '${{$compatibility_level} <level {1} ? {yes} : {no}}', doc: 'Append .$mydomain to domains without a dot' },
  swap_bangpath: { kind: 'bool', default: 'yes', doc: 'Rewrite site!user to user@site' },
  allow_percent_hack: { kind: 'bool', default: 'yes', doc: 'Rewrite user%domain to user@domain' },
  propagate_unmatched_extensions: { kind: 'list', default: 'canonical, virtual', doc: 'Lookups that carry an address extension over to the result' },
  canonical_maps: { kind: 'tables', default: '', doc: 'Address mapping for envelope and header addresses' },
  sender_canonical_maps: { kind: 'tables', default: '', doc: 'Address mapping for sender addresses' },
  sender_bcc_maps: { kind: 'tables', default: '', doc: 'Blind copy addresses by envelope sender (after canonical mapping), for mail smtpd and pickup receive' },
  recipient_bcc_maps: { kind: 'tables', default: '', doc: 'Blind copy addresses by envelope recipient (after canonical mapping), for mail smtpd and pickup receive' },
  recipient_canonical_maps: { kind: 'tables', default: '', doc: 'Address mapping for recipient addresses' },
  canonical_classes: { kind: 'list', default: 'envelope_sender, envelope_recipient, header_sender, header_recipient', doc: 'Which addresses canonical_maps applies to' },
  virtual_maps: { kind: 'tables', default: '', doc: 'Obsolete name of virtual_alias_maps' },
  virtual_alias_maps: { kind: 'tables', default: '$virtual_maps', doc: 'Alias tables for any domain, applied by cleanup' },
  virtual_alias_domains: { kind: 'list', default: '$virtual_alias_maps', fileItems: true, doc: 'Domains handled only through virtual_alias_maps' },
  virtual_alias_expansion_limit: { kind: 'int', default: '1000', min: 0, doc: 'The most recipients one virtual alias expansion may produce' },
  virtual_alias_recursion_limit: { kind: 'int', default: '1000', min: 0, doc: 'The deepest nesting of virtual alias expansion' },
  virtual_mailbox_domains: { kind: 'list', default: '$virtual_mailbox_maps', fileItems: true, doc: 'Domains delivered by the virtual delivery agent' },
  virtual_mailbox_maps: { kind: 'tables', default: '', doc: 'Valid recipients of virtual mailbox domains' },
  masquerade_domains: { kind: 'list', default: '', doc: 'Domains whose subdomains are stripped from addresses (a !domain is never masqueraded)' },
  masquerade_exceptions: { kind: 'list', default: '', doc: 'User names that are never masqueraded' },
  masquerade_classes: { kind: 'list', default: 'envelope_sender, header_sender, header_recipient', doc: 'Which addresses masquerading applies to' },
  local_recipient_maps: { kind: 'tables', default: 'proxy:unix:passwd.byname $alias_maps', doc: 'Tables of valid local recipients (empty: any local recipient is accepted)' },
  unknown_local_recipient_reject_code: { kind: 'int', default: '550', min: 0, doc: 'The SMTP code for an unknown local recipient' },
  relay_recipient_maps: { kind: 'tables', default: '', doc: 'Tables of valid recipients in relay_domains (empty: any recipient is accepted)' },
  unknown_relay_recipient_reject_code: { kind: 'int', default: '550', min: 0, doc: 'The SMTP code for a recipient in relay_domains missing from relay_recipient_maps' },
  unknown_virtual_alias_reject_code: { kind: 'int', default: '550', min: 0, doc: 'The SMTP code for a recipient in virtual_alias_domains missing from virtual_alias_maps' },
  unknown_virtual_mailbox_reject_code: { kind: 'int', default: '550', min: 0, doc: 'The SMTP code for a recipient in virtual_mailbox_domains missing from virtual_mailbox_maps' },
  transport_maps: { kind: 'tables', default: '', doc: 'Tables that map recipients or domains to transport:nexthop' },
  local_transport: { kind: 'string', default: 'local:$myhostname', doc: 'The transport for local domains' },
  virtual_transport: { kind: 'string', default: 'virtual', doc: 'The transport for virtual mailbox domains' },
  relay_transport: { kind: 'string', default: 'relay', doc: 'The transport for relay_domains' },
  default_transport: { kind: 'string', default: 'smtp', doc: 'The transport for all other domains' },
});
