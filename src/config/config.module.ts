import { Global, Module } from '@nestjs/common';
import { ConfigModule as NestConfigModule } from '@nestjs/config';
import { loadConfig } from './configuration';

@Global()
@Module({
  imports: [
    NestConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      // The whole validated AppConfig replaces the raw environment in ConfigService.
      validate: (env) => loadConfig(env as Record<string, string | undefined>) as never,
    }),
  ],
})
export class ConfigModule {}
