import { it } from 'vitest';
import { InstrumentedEncoder, postJson, startTestServer, tinyEncoder, waitFor } from '/work/main/test/server/helpers.ts';
it('timing', async () => {
    const slow = new InstrumentedEncoder(tinyEncoder());
    const server = await startTestServer({ encoder: slow });
    const t0 = Date.now(); const lap = (s: string) => console.log(s, Date.now() - t0);
      slow.hold();
      void postJson(server.origin, '/v1/embeddings', { input: ['first'] });
      await waitFor(() => slow.batchSizes.length === 1, 5000, 'the first batch');
      lap('first');
      const controller = new AbortController();
      const abandoned = fetch(`${server.origin}/v1/embeddings`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ input: ['x', 'y', 'z'] }), signal: controller.signal,
      }).catch(() => 'aborted');
      await waitFor(() => server.server.batcher.queuedSequences === 3, 5000, 'the queue');
      lap('queued');
      controller.abort();
      await abandoned; lap('aborted');
      await waitFor(() => server.server.batcher.queuedSequences === 0, 5000, 'the withdrawal');
      lap('withdrawn');
      slow.release();
      await server.server.batcher.whenIdle(); lap('idle');
      await server.close(); lap('closed');
});
