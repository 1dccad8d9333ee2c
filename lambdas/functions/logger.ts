/** One Powertools logger per process; the stage name comes from the function's STAGE_NAME. */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({
  serviceName: 'media-triage',
  logLevel: (process.env['LOG_LEVEL'] as 'INFO' | 'DEBUG' | 'WARN' | 'ERROR' | 'SILENT' | undefined) ?? 'INFO',
  persistentLogAttributes: { stage: process.env['STAGE_NAME'] ?? 'unknown' },
});
