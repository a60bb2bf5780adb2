import type { User } from '../../generated/prisma/client';

export class UserDto {
  id!: number;
  email!: string;
  username!: string;
  is_active!: boolean;
  created_at!: Date;
  updated_at!: Date;

  /** The only way a user leaves the service: never with a password or hash. */
  static from(u: Omit<User, 'hashedPassword'>): UserDto {
    return {
      id: u.id,
      email: u.email,
      username: u.username,
      is_active: u.isActive,
      created_at: u.createdAt,
      updated_at: u.updatedAt,
    };
  }
}
