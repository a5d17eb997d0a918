/** Demo photos decoded with sharp: whole image resized (bilinear, no crop) to raw RGB in [0, 1], HWC. */
import sharp from 'sharp';
import { demoImages } from '@ablation-path/assets';
import type { ImageBatch } from '@ablation-path/core';

export interface Photo {
  readonly file: string;
  readonly label: number | undefined;
  readonly image: ImageBatch;
}

export async function loadPhoto(path: string, size = 224): Promise<ImageBatch> {
  const { data, info } = await sharp(path)
    .removeAlpha()
    .toColourspace('srgb')
    .resize(size, size, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size)
    throw new Error(`unexpected decode of ${path}: ${JSON.stringify(info)}`);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] as number) / 255;
  return { data: out, height: size, width: size, channels: 3, count: 1 };
}

export async function loadDemoPhotos(size = 224): Promise<Photo[]> {
  const photos: Photo[] = [];
  for (const d of demoImages()) photos.push({ file: d.file, label: d.label, image: await loadPhoto(d.path, size) });
  return photos;
}
