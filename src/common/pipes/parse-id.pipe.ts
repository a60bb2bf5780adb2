import { Injectable, type PipeTransform } from '@nestjs/common';
import { notFound } from '../errors/app-error';
import { MAX_DB_ID } from '../ids';

/**
 * A path id: a positive integer that fits the database column. Anything else cannot name an
 * existing object, so it is a 404 with the resource's own code (never a 400/500).
 */
@Injectable()
export class ParseIdPipe implements PipeTransform<string, number> {
  constructor(private readonly what: string) {}

  transform(value: string): number {
    if (!/^\d{1,10}$/.test(value)) throw notFound(this.what);
    const id = Number(value);
    if (id <= 0 || id > MAX_DB_ID) throw notFound(this.what);
    return id;
  }
}
