// The security settings of the broker's configuration (load.ts reads the rest): who may connect
// (STRATA_AUTH, SASL) and what they may do (STRATA_AUTHORIZER and the ACL settings).

import { aclPrincipalProblem } from '@strata/protocol';
import { DEFAULTS, INT_SETTINGS, STRING_SETTINGS, type IntSetting } from './settings.js';
import { SASL_MECHANISMS, type AuthConfig, type AuthorizationConfig, type SaslMechanism } from './types.js';

const AUTH_MODES = ['none', 'optional', 'required'] as const;

export function authConfig(str: (name: string, fallback: string) => string, int: (setting: IntSetting) => number, problems: string[]): AuthConfig {
  const mode = str(STRING_SETTINGS.auth, 'none');
  if (!(AUTH_MODES as readonly string[]).includes(mode)) problems.push(`STRATA_AUTH must be one of ${AUTH_MODES.join(', ')}, got "${mode}"`);
  const mechanisms = str(STRING_SETTINGS.saslMechanisms, SASL_MECHANISMS.join(','))
    .split(',')
    .map((m) => m.trim().toUpperCase())
    .filter((m) => m !== '');
  const metricsPublic = str(STRING_SETTINGS.metricsPublic, String(DEFAULTS.metricsPublic));
  if (metricsPublic !== 'true' && metricsPublic !== 'false') problems.push(`STRATA_METRICS_PUBLIC must be true or false, got ${JSON.stringify(metricsPublic)}`);
  for (const m of mechanisms) if (!(SASL_MECHANISMS as readonly string[]).includes(m)) problems.push(`STRATA_SASL_MECHANISMS: "${m}" is not one of ${SASL_MECHANISMS.join(', ')}`);
  return {
    mode: mode as AuthConfig['mode'],
    saslMechanisms: [...new Set(mechanisms)] as SaslMechanism[],
    saslSessionLifetimeMs: int(INT_SETTINGS.saslSessionLifetimeMs),
    scramIterations: int(INT_SETTINGS.scramIterations),
    failuresMax: int(INT_SETTINGS.authFailuresMax),
    failureWindowMs: int(INT_SETTINGS.authFailureWindowMs),
    failureSourcesMax: int(INT_SETTINGS.authFailureSourcesMax),
    passwordCacheEntries: int(INT_SETTINGS.authPasswordCacheEntries),
    metricsPublic: metricsPublic === 'true',
  };
}

/** STRATA_AUTHORIZER and the settings that apply only with 'acl' (set without it: a problem, not ignored). */
export function authorizationConfig(
  str: (name: string, fallback: string) => string,
  int: (setting: IntSetting) => number,
  raw: (name: string) => { value: string } | undefined,
  problems: string[],
): AuthorizationConfig {
  const authorizer = str(STRING_SETTINGS.authorizer, DEFAULTS.authorizer);
  const superUsers = str(STRING_SETTINGS.superUsers, '').split(';').map((p) => p.trim()).filter((p) => p !== '');
  const allowText = str(STRING_SETTINGS.allowEveryoneIfNoAclFound, String(DEFAULTS.allowEveryoneIfNoAclFound));
  const refreshIntervalMs = int(INT_SETTINGS.aclRefreshIntervalMs);
  if (authorizer !== 'none' && authorizer !== 'acl') problems.push(`STRATA_AUTHORIZER must be none or acl, got ${JSON.stringify(authorizer)}`);
  if (allowText !== 'true' && allowText !== 'false') problems.push(`STRATA_ALLOW_EVERYONE_IF_NO_ACL_FOUND must be true or false, got ${JSON.stringify(allowText)}`);
  for (const principal of superUsers) {
    const problem = aclPrincipalProblem(principal);
    if (problem !== null) problems.push(`STRATA_SUPER_USERS: ${problem}`);
  }
  if (authorizer !== 'acl') {
    for (const name of [STRING_SETTINGS.superUsers, STRING_SETTINGS.allowEveryoneIfNoAclFound, INT_SETTINGS.aclRefreshIntervalMs.env]) {
      if (raw(name) !== undefined) problems.push(`${name}: set, but STRATA_AUTHORIZER is not acl (nothing is checked)`);
    }
  }
  return { authorizer: authorizer === 'acl' ? 'acl' : 'none', superUsers, allowEveryoneIfNoAclFound: allowText === 'true', refreshIntervalMs };
}
