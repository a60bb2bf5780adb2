import { Reflector } from '@nestjs/core';

/** Opts a route out of the global JWT guard. Everything else requires a bearer token. */
export const Public = Reflector.createDecorator<boolean>({ transform: () => true });
