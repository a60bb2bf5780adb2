import { Injectable } from '@nestjs/common';
import type { UserProfile } from '../common/auth/current-user.decorator';
import { FreshReadCoalescer } from '../common/coalescing/fresh-read-coalescer';
import { PrismaService } from '../prisma/prisma.service';

/**
 * Who the caller is, read afresh for every request. Concurrent requests share one statement
 * (`WHERE id = ANY($1)`), but only one that starts after they arrived (FreshReadCoalescer): a
 * user deactivated or deleted is refused on the next request, on every replica, as when every
 * request ran its own query. Nothing is cached between batches.
 */
@Injectable()
export class IdentityService {
  private readonly profiles = new FreshReadCoalescer<number, UserProfile>(async (ids) => {
    const rows = await this.prisma.$queryRaw<UserProfile[]>`/* prepared */
      SELECT id, email, username, is_active AS "isActive", created_at AS "createdAt",
             updated_at AS "updatedAt"
        FROM users WHERE id = ANY(${ids}::int[])`;
    return new Map(rows.map((r) => [String(r.id), r]));
  });

  constructor(private readonly prisma: PrismaService) {}

  /** The user's public row (shared with the other callers of its batch: do not mutate), if any. */
  profile(userId: number): Promise<UserProfile | undefined> {
    return this.profiles.load(userId);
  }
}
