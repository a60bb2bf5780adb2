import { ConfigService } from '@nestjs/config';
import { createApp } from './app.factory';
import type { AppConfig } from './config/configuration';

async function bootstrap(): Promise<void> {
  const app = await createApp();
  const config = app.get<ConfigService<AppConfig, true>>(ConfigService);
  await app.listen(config.get('port', { infer: true }), config.get('host', { infer: true }));
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
