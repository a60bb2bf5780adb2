import { Reflector } from '@nestjs/core';
import type { Role } from './roles';

/**
 * On a route whose `:id` (or the named param) is an organization id: the caller must be a
 * member with at least this role. Non-members get 404 so an organization's existence does not
 * leak; members below the role get 403. The membership is read from the database on every
 * request (no cached grants) by OrgRoleGuard.
 */
export const OrgRole = Reflector.createDecorator<{ role: Role; param?: string }>();
