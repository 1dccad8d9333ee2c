/**
 * S3 keys as paths of the local file tree: each `/`-separated segment is a folder or file name, as a person
 * browsing `.media-triage/s3/` expects. The few segments a file system cannot hold as names are escaped with `%`
 * (an empty segment, `.`, `..`, and the characters `%` and NUL), so every key maps to one path and back.
 */
import path from 'node:path';

function encodeSegment(segment: string): string {
  if (segment === '') return '%';
  if (segment === '.') return '%2E';
  if (segment === '..') return '%2E%2E';
  // eslint-disable-next-line no-control-regex -- NUL is exactly what a file name cannot hold
  return segment.replace(/[%\u0000]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function decodeSegment(name: string): string {
  if (name === '%') return '';
  return name.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export function keyToRelativePath(key: string): string {
  return key.split('/').map(encodeSegment).join(path.sep);
}

export function relativePathToKey(relative: string): string {
  return relative.split(path.sep).map(decodeSegment).join('/');
}
