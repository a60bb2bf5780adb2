import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule as NestConfigModule } from '@nestjs/config';
import type { AppConfig } from './configuration';

/**
 * Exposes the already-validated AppConfig through Nest's typed ConfigService
 * (`ConfigService<AppConfig, true>`). Validation happens once, in loadConfig(), before the app
 * is built, so a bad variable stops start-up with a message naming it.
 */
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      imports: [
        NestConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          skipProcessEnv: true,
          load: [() => ({ ...config })],
        }),
      ],
    };
  }
}
