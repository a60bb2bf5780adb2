import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { IdentityService } from './identity.service';
import { JwtStrategy } from './jwt.strategy';
import { LoginAttemptsService } from './login-attempts.service';
import { SigningKeyService } from './signing-key.service';

@Module({
  imports: [
    UsersModule,
    PassportModule,
    // The key is passed per call by SigningKeyService (it may come from the database).
    JwtModule.register({
      signOptions: { algorithm: 'HS256', issuer: 'berth' },
      verifyOptions: { algorithms: ['HS256'], issuer: 'berth' },
    }),
  ],
  controllers: [AuthController],
  providers: [AuthService, IdentityService, JwtStrategy, LoginAttemptsService, SigningKeyService],
})
export class AuthModule {}
