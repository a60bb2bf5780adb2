import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createApp } from './app.factory';
import type { AppConfig } from './config/configuration';

async function bootstrap(): Promise<void> {
  const app = await createApp();
  const config = app.get<ConfigService<AppConfig, true>>(ConfigService);
  const host = config.get('host', { infer: true });
  await app.listen(config.get('port', { infer: true }), host);
  // Say where: HOST decides whether the network can reach the service at all.
  new Logger('Bootstrap').log(`listening on ${await app.getUrl()} (HOST=${host})`);
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
