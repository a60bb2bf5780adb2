import { Reflector } from '@nestjs/core';

/** Marks the account routes (POST /users/, POST /token) for the stricter `auth` throttler. */
export const AuthThrottle = Reflector.createDecorator<boolean>({ transform: () => true });
