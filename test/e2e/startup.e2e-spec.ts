import { startApp, type TestContext } from '../support/app';

describe('Start-up', () => {
  let ctx: TestContext | undefined;
  afterAll(() => ctx?.close());

  it('should start without any process warning (FastifyWarning FSTWRN004 was printed at every start)', async () => {
    const emitWarning = jest.spyOn(process, 'emitWarning');
    try {
      ctx = await startApp();
      await ctx.http().get('/health').expect(200);
      expect(emitWarning.mock.calls.map((args) => String(args[0]))).toEqual([]);
    } finally {
      emitWarning.mockRestore();
    }
  });
});
