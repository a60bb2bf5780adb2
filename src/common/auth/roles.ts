import { MemberRole } from '../../generated/prisma/enums';
import { forbidden } from '../errors/app-error';

export { MemberRole };
export type Role = `${MemberRole}`;

const RANK: Record<Role, number> = { viewer: 1, developer: 2, admin: 3 };

/** admin > developer > viewer. */
export function hasRole(actual: Role, atLeast: Role): boolean {
  return RANK[actual] >= RANK[atLeast];
}

/** Throws 403 organization/insufficient_role when `actual` ranks below `atLeast`. */
export function assertRole(actual: Role, atLeast: Role): void {
  if (!hasRole(actual, atLeast)) {
    throw forbidden(`This action needs the ${atLeast} role or higher; you are ${actual}`);
  }
}
