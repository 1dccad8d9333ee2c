/**
 * Peak memory of one Preprocess invocation, in a fresh process: `node --import tsx bench/preprocess-peak.ts FILE`
 * prints {"baselineRssMb","peakRssMb","ok"} after the stage's jimp work on FILE (baseline: jimp loaded, file read).
 * VmHWM (this process image's high-water mark), not getrusage's maxRSS: Linux carries maxRSS over from the forking
 * parent, which would report the bench's own peak.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { preprocessImage } from '../lambdas/core/image';

function highWaterMarkMb(): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmHWM:'));
  return line === undefined ? process.resourceUsage().maxRSS / 1024 : Number(line.replace(/\D+/g, '')) / 1024;
}

const bytes = await readFile(process.argv[2]!);
const baselineRssMb = highWaterMarkMb();
const result = await preprocessImage(bytes);
console.log(JSON.stringify({ baselineRssMb, peakRssMb: highWaterMarkMb(), ok: result.ok }));
