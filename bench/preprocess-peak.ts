/**
 * Peak memory of one Preprocess invocation, in a fresh process: `node --import tsx bench/preprocess-peak.ts FILE`
 * prints {"baselineRssMb","peakRssMb","ok"} after the stage's jimp work on FILE (baseline: jimp loaded, file read).
 */
import { readFile } from 'node:fs/promises';
import { preprocessImage } from '../lambdas/core/image';

const bytes = await readFile(process.argv[2]!);
const baselineRssMb = process.resourceUsage().maxRSS / 1024;
const result = await preprocessImage(bytes);
console.log(JSON.stringify({ baselineRssMb, peakRssMb: process.resourceUsage().maxRSS / 1024, ok: result.ok }));
