import { Module } from '@nestjs/common';
import { AllocationService } from './allocation.service';

/**
 * The capacity ledger on its own, so a placement implementation (the scheduler) can import it
 * without importing DeploymentsModule, which in turn imports that placement: no module cycle.
 */
@Module({ providers: [AllocationService], exports: [AllocationService] })
export class LedgerModule {}
