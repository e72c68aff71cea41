import { ConfigError, initBackend, tf } from '@kava/core';

describe('backend selection', () => {
  afterAll(async () => {
    await initBackend('cpu');
  });

  it('runs on cpu when asked', async () => {
    const info = await initBackend('cpu');
    expect(info).toMatchObject({ requested: 'cpu', name: 'cpu', tfBackend: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
    expect(info.description).toMatch(/^backend: cpu \(tfjs 4\.22\.0\)/);
  });

  it('runs on wasm when asked', async () => {
    const info = await initBackend('wasm');
    expect(info).toMatchObject({ name: 'wasm', tfBackend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('auto takes wasm where the tfjs-node packages are not installed, and says it chose', async () => {
    const info = await initBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.description).toMatch(/chosen automatically/);
  });

  it.each([
    [
      'tensorflow-gpu',
      /@tensorflow\/tfjs-node-gpu, which is not installed.*npm install @tensorflow\/tfjs-node-gpu@4\.22\.0.*CUDA 11\.2 and cuDNN 8\.1/,
    ],
    ['tensorflow', /@tensorflow\/tfjs-node, which is not installed.*npm install @tensorflow\/tfjs-node@4\.22\.0/],
  ] as const)('asking for %s when it is not installed says how to install it', async (name, message) => {
    const err = await initBackend(name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
  });

  it('rejects an unknown backend name', async () => {
    await expect(initBackend('metal' as never)).rejects.toThrow(
      /expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu, got "metal"/,
    );
  });
});
