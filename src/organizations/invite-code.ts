import { randomBytes } from 'node:crypto';

/** 18 random bytes → 24 URL-safe characters (144 bits): unguessable, never enumerable. */
export function newInviteCode(): string {
  return randomBytes(18).toString('base64url');
}

/** Anything longer cannot be one of ours; answered as not found without a query. */
export const MAX_INVITE_CODE_LENGTH = 64;
