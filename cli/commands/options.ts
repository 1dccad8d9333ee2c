/** Options several commands share, declared once so their flags, help and defaults agree. */
import { Option } from 'commander';
import { optionValue } from '../usage';

export interface JsonOption {
  json?: boolean;
}

export interface StateDirOption {
  stateDir: string;
}

export function jsonOption(): Option {
  return new Option('--json', 'print one JSON object as the last stdout line (README "CLI output")');
}

export function stateDirOption(): Option {
  return new Option('--state-dir <dir>', 'where the local state persists').env('MEDIA_TRIAGE_HOME').default('.media-triage').argParser(optionValue);
}
