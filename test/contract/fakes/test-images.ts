import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/**
 * Real, decodable images for the fakes: a deterministic pattern from a seed, so a test can tell which image it
 * got back and compare bytes end to end.
 */
export function renderImage(options: {
  width: number;
  height: number;
  seed: number;
  format: 'png' | 'jpeg';
}): Buffer {
  const { width, height, seed } = options;
  const data = Buffer.alloc(width * height * 4);
  const r0 = (seed * 97) % 256;
  const g0 = (seed * 57 + 80) % 256;
  const b0 = (seed * 31 + 160) % 256;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = (r0 + Math.floor((x * 255) / width)) % 256;
      data[i + 1] = (g0 + Math.floor((y * 255) / height)) % 256;
      data[i + 2] = (b0 + (((x >> 5) + (y >> 5)) % 2) * 64) % 256;
      data[i + 3] = 255;
    }
  }
  if (options.format === 'jpeg') return Buffer.from(jpeg.encode({ data, width, height }, 80).data);
  const png = new PNG({ width, height });
  data.copy(png.data);
  return PNG.sync.write(png);
}

/** Decodes PNG or JPEG bytes and returns the size: proves bytes are a real image, not just a magic number. */
export function decodeImage(bytes: Uint8Array): { width: number; height: number; format: 'png' | 'jpeg' } {
  const buffer = Buffer.from(bytes);
  if (buffer[0] === 0x89) {
    const png = PNG.sync.read(buffer);
    return { width: png.width, height: png.height, format: 'png' };
  }
  const decoded = jpeg.decode(buffer, { useTArray: true });
  return { width: decoded.width, height: decoded.height, format: 'jpeg' };
}
