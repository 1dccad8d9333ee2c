/**
 * Loose images from the Batches page's small form become a batch archive: the images plus a generated manifest that
 * lists each under the merchant and declared category given once for all, titled by the form's title or the file's
 * name. The result is an ordinary batch, so it goes through the same pipeline and contract as an uploaded zip.
 */
import { buildZip, manifestCsv, type DemoRow } from '../local/demo-batch';

export interface LooseImages {
  merchantId: string;
  declaredCategory: string;
  /** One title for every image; each image's file name (without extension) when absent. */
  title?: string;
  images: Array<{ name: string; bytes: Buffer }>;
}

/** A file name safe inside a zip and a manifest: no folders, only plain characters. */
export function safeFileName(name: string, fallback: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = base
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+/, '');
  return cleaned === '' ? fallback : cleaned.slice(0, 100);
}

export function looseImagesArchive(input: LooseImages): { fileName: string; archive: Buffer } {
  const files: Record<string, Uint8Array | string> = {};
  const rows: DemoRow[] = [];
  input.images.forEach((image, index) => {
    let name = safeFileName(image.name, `image-${index + 1}`);
    // Two uploads with the same name stay two assets.
    while (files[`images/${name}`] !== undefined) name = `${index + 1}-${name}`;
    files[`images/${name}`] = image.bytes;
    rows.push({
      asset_id: `IMG-${String(index + 1).padStart(4, '0')}`,
      file: `images/${name}`,
      merchant_id: input.merchantId,
      declared_category: input.declaredCategory,
      title: input.title ?? image.name.replace(/\.[^.]*$/, ''),
    });
  });
  files['manifest.csv'] = manifestCsv(rows);
  return { fileName: `images-${safeFileName(input.merchantId, 'merchant').replace(/\./g, '-')}.zip`, archive: buildZip(files) };
}
