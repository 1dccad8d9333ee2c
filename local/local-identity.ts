/**
 * The account and region the local mode pretends to be. Kept apart from the stand-ins so that reading a template
 * (local/template.ts, which the CLI uses to check a --template file before anything starts) stays cheap to import.
 */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
