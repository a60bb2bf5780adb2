import { Injectable } from '@nestjs/common';
import * as argon2 from 'argon2';
import { Prisma, type User } from '../generated/prisma/client';
import { conflict, notFound } from '../common/errors/app-error';
import { PrismaService } from '../prisma/prisma.service';
import type { CreateUserDto } from './dto/create-user.dto';

/** OWASP's argon2id baseline (m=19 MiB, t=2, p=1): strong, and cheap enough for a login burst. */
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

@Injectable()
export class UsersService {
  constructor(private readonly prisma: PrismaService) {}

  async create(dto: CreateUserDto): Promise<User> {
    const hashedPassword = await argon2.hash(dto.password, ARGON2_OPTIONS);
    try {
      return await this.prisma.user.create({
        data: { email: dto.email, username: dto.username, hashedPassword },
      });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw conflict('user/already_exists', 'A user with this email or username already exists');
      }
      throw err;
    }
  }

  async get(id: number): Promise<User> {
    const user = await this.prisma.user.findUnique({ where: { id } });
    if (!user) throw notFound('user');
    return user;
  }

  /**
   * Looks a login up by username, or by email when it contains '@', both without regard to case
   * (they are unique that way: users_username_lower_key, users_email_lower_key).
   */
  async findByLogin(login: string): Promise<User | null> {
    if (login.includes('@')) {
      return this.prisma.user.findUnique({ where: { email: login.trim().toLowerCase() } });
    }
    let rows: User[];
    try {
      rows = await this.prisma.$queryRaw<User[]>`
        SELECT id, email, username, hashed_password AS "hashedPassword", is_active AS "isActive",
               created_at AS "createdAt", updated_at AS "updatedAt"
          FROM users WHERE lower(username) = lower(${login})`;
    } catch (err) {
      // A raw query reports a lost database as P2010 (raw query failed), which the problem
      // filter cannot tell from a bad query; the typed lookup fails with the connection error
      // itself (→ 503), or answers like before when the database is fine.
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2010') {
        return this.prisma.user.findUnique({ where: { username: login } });
      }
      throw err;
    }
    return rows[0] ?? null;
  }
}
